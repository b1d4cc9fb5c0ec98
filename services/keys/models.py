from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class Role(str, enum.Enum):
    app = "app"
    auditor = "auditor"
    dpo = "dpo"
    admin = "admin"
    # Reads the audit log of every tenant (and may narrow to one); nothing else.
    platform_auditor = "platform_auditor"


class ApiKey(Base):
    """An API key, stored as the SHA-256 of its secret part.

    The secret is 256 random bits, so a fast hash is enough: there is nothing
    to brute-force that a slow password hash would protect.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="api_key_role", native_enum=False, length=16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Requests per minute; None: the DOUANE_RATE_LIMIT_PER_MINUTE default, 0: unlimited.
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
