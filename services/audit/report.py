"""The compliance report for a period: what kind of data went where, what it
cost, and whether anything went where the recorded policy did not allow.

Each figure is one grouped query over the decision rows of the period (and
their outcomes), computed by the database, not by walking rows in Python.

A violation is an outcome whose endpoint
- is not in the decision's recorded plan (``not_in_plan``), or
- is listed in the recorded policy output's ``denied`` (``denied_by_policy``), or
- for special-category data, is outside the EU and not self-hosted according
  to the recorded policy input's candidates (``special_outside_eu``).
In a healthy system there are none.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, String, and_, bindparam, func, literal, select, text
from sqlalchemy.orm import Session

from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.repository import outcome_floor, outcomes_since
from services.audit.schemas import (
    AuditReport,
    EndpointSpend,
    Period,
    SensitivityByJurisdiction,
    SensitivityByRegion,
    Spend,
    StatusCount,
    Violation,
    Violations,
)

MAX_VIOLATIONS_LISTED = 100

_VIOLATION_FLAGS = {
    "postgresql": """
        NOT (d.plan @> jsonb_build_array(o.endpoint)) AS not_in_plan,
        COALESCE(jsonb_exists(d.policy_output -> 'denied', o.endpoint), false) AS denied_by_policy,
        (d.sensitivity = 'special' AND EXISTS (
            SELECT 1 FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(d.policy_input -> 'candidates') = 'array'
                     THEN d.policy_input -> 'candidates' ELSE '[]'::jsonb END) AS c
            WHERE c ->> 'id' = o.endpoint AND c ->> 'region' <> 'eu'
              AND NOT COALESCE((c ->> 'self_hosted')::boolean, false)
        )) AS special_outside_eu
    """,
    "sqlite": """
        NOT EXISTS (SELECT 1 FROM json_each(d.plan) AS p WHERE p.value = o.endpoint) AS not_in_plan,
        EXISTS (SELECT 1 FROM json_each(d.policy_output, '$.denied') AS x WHERE x.key = o.endpoint)
            AS denied_by_policy,
        (d.sensitivity = 'special' AND EXISTS (
            SELECT 1 FROM json_each(d.policy_input, '$.candidates') AS c
            WHERE json_extract(c.value, '$.id') = o.endpoint AND json_extract(c.value, '$.region') <> 'eu'
              AND NOT COALESCE(json_extract(c.value, '$.self_hosted'), 0)
        )) AS special_outside_eu
    """,
}

RULES = ("not_in_plan", "denied_by_policy", "special_outside_eu")


def _scope(query, tenant: str | None, since: datetime | None, until: datetime | None):
    d = DecisionRecord
    if tenant is not None:
        query = query.where(d.tenant == tenant)
    if since is not None:
        query = query.where(d.created_at >= since)
    if until is not None:
        query = query.where(d.created_at < until)
    return query


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def violations(
    session: Session, tenant: str | None, since: datetime | None, until: datetime | None
) -> Violations:
    dialect = session.get_bind().dialect.name
    flags = _VIOLATION_FLAGS["postgresql" if dialect == "postgresql" else "sqlite"]
    where = ["o.endpoint IS NOT NULL"]
    params = {}
    if tenant is not None:
        where.append("d.tenant = :tenant")
        params["tenant"] = tenant
    if since is not None:
        where.append("d.created_at >= :since")
        params["since"] = since
    if until is not None:
        where.append("d.created_at < :until")
        params["until"] = until
    if outcome_floor(since) is not None:  # see repository.OUTCOME_CLOCK_MARGIN: skips older outcome partitions
        where.append("o.created_at >= :outcomes_since")
        params["outcomes_since"] = outcome_floor(since)
    statement = text(
        f"""
        SELECT v.id, v.created_at, v.tenant, v.sensitivity, v.endpoint,
               v.not_in_plan, v.denied_by_policy, v.special_outside_eu, count(*) OVER () AS total
        FROM (
            SELECT d.id, d.created_at, d.tenant, d.sensitivity, o.endpoint, {flags}
            FROM decisions AS d JOIN outcomes AS o ON o.decision_id = d.id
            WHERE {" AND ".join(where)}
        ) AS v
        WHERE v.not_in_plan OR v.denied_by_policy OR v.special_outside_eu
        ORDER BY v.created_at, v.id
        LIMIT {MAX_VIOLATIONS_LISTED}
        """
    )
    binds = [
        bindparam(name, type_=DateTime(timezone=True))
        for name in ("since", "until", "outcomes_since")
        if name in params
    ]
    if "tenant" in params:
        binds.append(bindparam("tenant", type_=String))
    statement = statement.bindparams(*binds).columns(created_at=DateTime(timezone=True))
    rows = session.execute(statement, params).all()
    listed = [
        Violation(
            decision_id=str(row.id if isinstance(row.id, uuid.UUID) else uuid.UUID(str(row.id))),
            created_at=_iso(row.created_at),
            tenant=row.tenant,
            sensitivity=row.sensitivity,
            endpoint=row.endpoint,
            rules=[rule for rule in RULES if getattr(row, rule)],
        )
        for row in rows
    ]
    return Violations(count=rows[0].total if rows else 0, decisions=listed)


def build_report(
    session: Session, tenant: str | None, since: datetime | None, until: datetime | None
) -> AuditReport:
    d, o = DecisionRecord, OutcomeRecord
    count = func.count(d.id)

    def grouped(*columns):
        query = _scope(select(*columns, count), tenant, since, until).group_by(*columns).order_by(*columns)
        return session.execute(query).all()

    by_region = [
        SensitivityByRegion(sensitivity=s, region=r, count=n) for s, r, n in grouped(d.sensitivity, d.endpoint_region)
    ]
    by_jurisdiction = [
        SensitivityByJurisdiction(sensitivity=s, jurisdiction=j, count=n)
        for s, j, n in grouped(d.sensitivity, d.endpoint_jurisdiction)
    ]
    by_status = [StatusCount(status=s, count=n) for s, n in grouped(d.status)]

    outcome_status = func.coalesce(o.status, literal("none"))
    by_outcome = session.execute(
        _scope(select(outcome_status, count), tenant, since, until)
        .select_from(d)
        .outerjoin(o, and_(o.decision_id == d.id, outcomes_since(o, since)))
        .group_by(outcome_status)
        .order_by(outcome_status)
    ).all()

    spent = session.execute(
        _scope(select(o.endpoint, func.count(o.id), func.coalesce(func.sum(o.cost_usd), 0.0)), tenant, since, until)
        .select_from(d)
        .join(o, and_(o.decision_id == d.id, outcomes_since(o, since)))
        .group_by(o.endpoint)
        .order_by(o.endpoint)
    ).all()
    estimated = session.scalar(
        _scope(select(func.coalesce(func.sum(d.estimated_cost_usd), 0.0)), tenant, since, until).where(
            d.status == "routed"
        )
    )
    by_endpoint = [EndpointSpend(endpoint=e, outcomes=n, cost_usd=float(c)) for e, n, c in spent]

    return AuditReport(
        period=Period(since=_iso(since), until=_iso(until), tenant=tenant),
        decisions=sum(s.count for s in by_status),
        by_sensitivity_region=by_region,
        by_sensitivity_jurisdiction=by_jurisdiction,
        by_decision_status=by_status,
        by_outcome_status=[StatusCount(status=s, count=n) for s, n in by_outcome],
        spend=Spend(
            spent_usd=sum(e.cost_usd for e in by_endpoint),
            estimated_usd=float(estimated or 0.0),
            by_endpoint=by_endpoint,
        ),
        violations=violations(session, tenant, since, until),
    )
