"""Every query on the decision log lives here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.audit.models import DecisionRecord, OutcomeRecord


@dataclass(frozen=True)
class DecisionFilter:
    tenant: str
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (created_at, id) of the last row of a page."""

    created_at: datetime
    id: uuid.UUID


def add(session: Session, record: DecisionRecord) -> None:
    session.add(record)
    session.flush()


def get(session: Session, tenant: str, decision_id: uuid.UUID) -> DecisionRecord | None:
    return session.scalar(
        select(DecisionRecord).where(DecisionRecord.id == decision_id, DecisionRecord.tenant == tenant)
    )


def page(session: Session, filters: DecisionFilter, after: Cursor | None, limit: int) -> list[DecisionRecord]:
    """Newest first; ``limit`` rows after the cursor."""
    query = select(DecisionRecord).where(DecisionRecord.tenant == filters.tenant)
    if filters.since is not None:
        query = query.where(DecisionRecord.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(DecisionRecord.created_at < filters.until)
    if after is not None:
        query = query.where(
            or_(
                DecisionRecord.created_at < after.created_at,
                and_(DecisionRecord.created_at == after.created_at, DecisionRecord.id < after.id),
            )
        )
    query = query.order_by(DecisionRecord.created_at.desc(), DecisionRecord.id.desc()).limit(limit)
    return list(session.scalars(query))


def add_outcome(session: Session, outcome: OutcomeRecord) -> None:
    session.add(outcome)
    session.flush()


def get_outcome(session: Session, decision_id: uuid.UUID) -> OutcomeRecord | None:
    return session.scalar(select(OutcomeRecord).where(OutcomeRecord.decision_id == decision_id))


def recorded_policy_inputs(session: Session, since: datetime, tenant: str | None = None, batch: int = 1000):
    """Every decision since ``since`` that reached the policy (its input was
    recorded), oldest first, streamed in batches; for policy what-if replays."""
    query = (
        select(
            DecisionRecord.id,
            DecisionRecord.policy_input,
            DecisionRecord.plan,
            DecisionRecord.sensitivity,
            DecisionRecord.gdpr_categories,
        )
        .where(DecisionRecord.created_at >= since, DecisionRecord.policy_input.is_not(None))
        .order_by(DecisionRecord.created_at, DecisionRecord.id)
        .execution_options(yield_per=batch)
    )
    if tenant is not None:
        query = query.where(DecisionRecord.tenant == tenant)
    yield from session.execute(query)
