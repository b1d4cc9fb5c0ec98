"""Every query on the decision log lives here.

The auditor filters each map to a column that migration 0003 indexes behind
the tenant (``tenant, <column>, created_at``), the category to the GIN index
on ``gdpr_categories`` (``@>`` on Postgres), the outcome status to
``ix_outcomes_decision_status``; pages are keyset pages on (created_at, id),
newest first, so a first page costs the same on the ten-millionth row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, and_, exists, func, literal, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased, lazyload

from services.audit.models import DecisionRecord, OutcomeRecord


# An outcome is written after its decision (when the completion ends), so an
# outcome of a decision made since T was created since T too; the margin
# covers clocks of several gateway hosts that disagree. Bounding outcomes by
# it lets Postgres skip their older monthly partitions.
OUTCOME_CLOCK_MARGIN = timedelta(days=1)


def outcome_floor(since: datetime | None) -> datetime | None:
    """The earliest an outcome of a decision made since ``since`` can have
    been written; None when there is no bound."""
    if since is None:
        return None
    try:
        return since - OUTCOME_CLOCK_MARGIN
    except OverflowError:  # since is within the margin of year 1: every outcome is later
        return None


def outcomes_since(outcome, since: datetime | None):
    """The partition bound for the outcomes of decisions made since ``since``."""
    floor = outcome_floor(since)
    return true() if floor is None else outcome.created_at >= floor


@dataclass(frozen=True)
class DecisionFilter:
    """What an auditor asked for; ``tenant=None`` is every tenant (platform auditors only)."""

    tenant: str | None
    since: datetime | None = None
    until: datetime | None = None
    endpoint: str | None = None
    jurisdiction: str | None = None
    region: str | None = None
    sensitivity: str | None = None
    category: str | None = None
    purpose: str | None = None
    policy_revision: str | None = None
    status: str | None = None
    outcome: str | None = None  # an outcome status, or "none" for decisions without one
    key_id: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (created_at, id) of the last row of a page."""

    created_at: datetime
    id: uuid.UUID


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _has_category(dialect: str, category: str):
    if dialect == "postgresql":
        # jsonb @> '["special:health"]': served by the GIN index (jsonb_path_ops) of 0003.
        return type_coerce(DecisionRecord.gdpr_categories, JSONB).contains(
            type_coerce([category], JSONB)
        )
    each = func.json_each(DecisionRecord.gdpr_categories).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == category))


def _where(query: Select, filters: DecisionFilter, dialect: str) -> Select:
    d = DecisionRecord
    if filters.tenant is not None:
        query = query.where(d.tenant == filters.tenant)
    if filters.since is not None:
        query = query.where(d.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(d.created_at < filters.until)
    for column, value in (
        (d.endpoint, filters.endpoint),
        (d.endpoint_jurisdiction, filters.jurisdiction),
        (d.endpoint_region, filters.region),
        (d.sensitivity, filters.sensitivity),
        (d.purpose, filters.purpose),
        (d.policy_revision, filters.policy_revision),
        (d.status, filters.status),
        (d.key_id, filters.key_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.category is not None:
        query = query.where(_has_category(dialect, filters.category))
    if filters.outcome is not None:
        query = query.where(_outcome_matches(filters, dialect))
    return query


def _outcome_matches(filters: DecisionFilter, dialect: str):
    """EXISTS (or NOT EXISTS, for "none") an outcome of the decision with the status.

    An alias of its own: the export selects outcomes too, and the subquery
    must correlate to the decision only (ix_outcomes_decision_status serves
    it). On Postgres, two more things keep a first page cheap on a big log:
    the outcome is looked for only from its decision's time on (less the
    clock margin), so each probe prunes the older monthly partitions; and
    ``OFFSET 0`` keeps the subquery a per-row probe under the ordered index
    scan (without it the planner may turn it into a hash (anti-)join over
    every outcome of the tenant before it takes the first rows)."""
    d, o = DecisionRecord, aliased(OutcomeRecord)
    probe = select(literal(1)).where(o.decision_id == d.id, outcomes_since(o, filters.since))
    if filters.outcome != "none":
        probe = probe.where(o.status == filters.outcome)
    if dialect == "postgresql":
        probe = probe.where(o.created_at >= d.created_at - OUTCOME_CLOCK_MARGIN).offset(0)
    found = probe.exists()
    return ~found if filters.outcome == "none" else found


def _after(query: Select, after: Cursor | None) -> Select:
    if after is None:
        return query
    d = DecisionRecord
    # "created_at <= c" first: an index range every filter index can use; the
    # OR then only breaks ties at c itself.
    return query.where(
        d.created_at <= after.created_at,
        or_(d.created_at < after.created_at, and_(d.created_at == after.created_at, d.id < after.id)),
    )


def add(session: Session, record: DecisionRecord) -> None:
    """Link the record into the decisions chain and flush it (the gateway
    itself writes through services.audit.writer.AuditWriter)."""
    from services.audit.writer import append_in_session

    append_in_session(session, [record])


def get(session: Session, tenant: str | None, decision_id: uuid.UUID) -> DecisionRecord | None:
    """One decision; ``tenant=None`` looks in every tenant's log."""
    query = select(DecisionRecord).where(DecisionRecord.id == decision_id)
    if tenant is not None:
        query = query.where(DecisionRecord.tenant == tenant)
    return session.scalar(query)


def page(session: Session, filters: DecisionFilter, after: Cursor | None, limit: int) -> list[DecisionRecord]:
    """Newest first; ``limit`` rows after the cursor, with their outcomes."""
    dialect = _dialect(session)
    query = _after(_where(select(DecisionRecord), filters, dialect), after)
    order = (DecisionRecord.created_at.desc(), DecisionRecord.id.desc())
    if dialect != "postgresql" or filters.outcome is None:
        return list(session.scalars(query.order_by(*order).limit(limit)))
    return _page_by_month(session, query, order, filters, after, limit)


def _month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _page_by_month(session, query, order, filters: DecisionFilter, after: Cursor | None, limit: int):
    """An outcome filter probes the outcomes of each decision it walks past,
    and a rare status (say ``exhausted``) matches few of them. Over every
    monthly partition at once, the planner merges one ordered scan per month
    and must find a match in each before it can return the first row; so the
    months are walked one at a time, newest first, until the page is full
    (10M rows, outcome=exhausted, largest tenant: p95 292 ms over all months
    at once)."""
    d = DecisionRecord
    oldest, newest = session.execute(
        select(func.min(d.created_at), func.max(d.created_at)).where(
            *([d.tenant == filters.tenant] if filters.tenant is not None else [])
        )
    ).one()
    if oldest is None:
        return []
    floor = max(oldest, filters.since) if filters.since is not None else oldest
    top = after.created_at if after is not None else filters.until
    # No row is newer than the newest: an until in year 9999 must not walk
    # (one query a month) the ~96,000 empty months down to today.
    start = _month_start(min(top, newest) if top is not None else newest)
    upper: datetime | None = None  # the first window is open above (the cursor and until still apply)
    rows: list[DecisionRecord] = []
    while True:
        window = query.where(d.created_at >= start)
        if upper is not None:
            window = window.where(d.created_at < upper)
        rows += session.scalars(window.order_by(*order).limit(limit - len(rows)))
        if len(rows) >= limit or start <= floor:
            return rows
        upper, start = start, _month_start(start - timedelta(days=1))


def stream(
    session: Session, filters: DecisionFilter, batch: int = 1000
) -> Iterator[tuple[DecisionRecord, OutcomeRecord | None]]:
    """Every matching decision with its outcome, newest first (the list's
    order), read through a server-side cursor ``batch`` rows at a time, so an
    export of millions of rows holds one batch in memory."""
    query = (
        _where(select(DecisionRecord, OutcomeRecord), filters, _dialect(session))
        .outerjoin(
            OutcomeRecord,
            and_(OutcomeRecord.decision_id == DecisionRecord.id, outcomes_since(OutcomeRecord, filters.since)),
        )
        .options(lazyload(DecisionRecord.outcome))  # joined above: no extra SELECT per batch
        .order_by(DecisionRecord.created_at.desc(), DecisionRecord.id.desc())
        .execution_options(yield_per=batch)
    )
    for decision, outcome in session.execute(query):
        yield decision, outcome
        # Forget what was rendered: the identity map must not grow with the export.
        session.expunge(decision)
        if outcome is not None:
            session.expunge(outcome)


def add_outcome(session: Session, outcome: OutcomeRecord) -> None:
    from services.audit.writer import append_in_session

    append_in_session(session, [outcome])


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
