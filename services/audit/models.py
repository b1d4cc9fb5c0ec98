from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, JSONDoc


class DecisionRecord(Base):
    """One routing decision, written before anything is forwarded.

    Holds entity types and counts, never values, and the policy input exactly
    as evaluated (it carries no text by construction), so the decision can be
    replayed against another policy revision. The database refuses UPDATE
    and DELETE on this table (see the migration).
    """

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    api: Mapped[str] = mapped_column(String(16))  # which route asked: "route" or "chat"
    purpose: Mapped[str] = mapped_column(String(64))
    requested_model: Mapped[str] = mapped_column(String(128))
    # "routed": the policy listed at least one endpoint; "denied": it listed none;
    # "error": detection or policy failed, so the request was refused (fail closed).
    status: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    sensitivity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gdpr_categories: Mapped[list] = mapped_column(JSONDoc)
    entities: Mapped[dict] = mapped_column(JSONDoc)
    endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plan: Mapped[list] = mapped_column(JSONDoc)
    usage_estimate: Mapped[dict] = mapped_column(JSONDoc)
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    policy_input: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    policy_output: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    policy_engine: Mapped[str] = mapped_column(String(16))
    policy_revision: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_latency_ms: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        # The auditor's usual walk: one tenant, newest first, keyset-paged.
        Index("ix_decisions_tenant_created_id", "tenant", "created_at", "id"),
        Index("ix_decisions_created_id", "created_at", "id"),
    )
