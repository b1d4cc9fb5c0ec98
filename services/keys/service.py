"""Issuing and checking API keys.

A key reads ``dk_<key id>_<secret>``: the id finds the row, the secret is
compared by hash in constant time, so the lookup never depends on the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.keys.models import ApiKey, Role

KEY_PATTERN = re.compile(r"^dk_(k_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class InvalidTenant(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """The caller, as established by a valid key."""

    key_id: str
    tenant: str
    role: Role


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, tenant: str, role: Role) -> tuple[Principal, str]:
    """Create a key; return the principal and the key text (shown once, never stored)."""
    if not TENANT_PATTERN.match(tenant):
        raise InvalidTenant("tenant must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")
    key_id = "k_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(id=key_id, tenant=tenant, role=role, secret_sha256=_sha256(secret)))
    session.flush()
    return Principal(key_id=key_id, tenant=tenant, role=role), f"dk_{key_id}_{secret}"


def authenticate(session: Session, presented: str) -> Principal | None:
    match = KEY_PATTERN.match(presented)
    if not match:
        return None
    key_id, secret = match.groups()
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None
    return Principal(key_id=row.id, tenant=row.tenant, role=row.role)
