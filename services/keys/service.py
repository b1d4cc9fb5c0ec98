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

from sqlalchemy import func, select
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
    # The key's own requests per minute (0: unlimited); None: the settings' default.
    rate_limit_per_minute: int | None = None


def secret_digest(secret: str) -> str:
    """What the table stores of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class InvalidRateLimit(ValueError):
    pass


def create_key(
    session: Session, tenant: str, role: Role, *, rate_limit_per_minute: int | None = None
) -> tuple[Principal, str]:
    """Create a key; return the principal and the key text (shown once, never stored)."""
    if not TENANT_PATTERN.match(tenant):
        raise InvalidTenant("tenant must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")
    if rate_limit_per_minute is not None and rate_limit_per_minute < 0:
        raise InvalidRateLimit("the rate limit is requests per minute, 0 for unlimited; it cannot be negative")
    key_id = "k_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=key_id,
            tenant=tenant,
            role=role,
            secret_sha256=secret_digest(secret),
            rate_limit_per_minute=rate_limit_per_minute,
        )
    )
    session.flush()
    principal = Principal(key_id=key_id, tenant=tenant, role=role, rate_limit_per_minute=rate_limit_per_minute)
    return principal, f"dk_{key_id}_{secret}"


def authenticate(session: Session, presented: str) -> Principal | None:
    match = KEY_PATTERN.match(presented)
    if not match:
        return None
    key_id, secret = match.groups()
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.secret_sha256, secret_digest(secret)):
        return None
    return Principal(key_id=row.id, tenant=row.tenant, role=row.role, rate_limit_per_minute=row.rate_limit_per_minute)


def revoke_key(session: Session, key_id: str) -> bool:
    """Mark a key revoked; False when there is no such key or it was revoked already."""
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at = func.now()
    session.flush()
    return True
