"""The console's own queries: traffic over time. Everything else it shows is
read through services.audit (the decision log, a decision, the chain check).

Each chart is one grouped query, counted by the database: decisions per UTC
day and per value of one column, over a bounded period (the page refuses more
than MAX_DAYS), so a chart reads at most a few monthly partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.audit.days import as_date, utc_day
from services.audit.models import DecisionRecord

Dimension = Literal["sensitivity", "region", "jurisdiction"]

COLUMNS = {
    "sensitivity": DecisionRecord.sensitivity,
    "region": DecisionRecord.endpoint_region,
    "jurisdiction": DecisionRecord.endpoint_jurisdiction,
}


@dataclass(frozen=True)
class DayCount:
    day: date
    value: str | None  # None: not classified (an error) or no endpoint chosen
    count: int


def daily_counts(
    session: Session, dimension: Dimension, tenant: str | None, since: datetime, until: datetime
) -> list[DayCount]:
    """Decisions made in [since, until) per UTC day and per value of ``dimension``."""
    d = DecisionRecord
    column = COLUMNS[dimension]
    day = utc_day(session, d.created_at)
    query = select(day.label("day"), column, func.count()).where(d.created_at >= since, d.created_at < until)
    if tenant is not None:
        query = query.where(d.tenant == tenant)
    # Unordered: the chart orders days and values itself.
    rows = session.execute(query.group_by(day, column)).all()
    return [DayCount(as_date(day_value), value, count) for day_value, value, count in rows]
