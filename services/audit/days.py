"""Grouping audit rows by UTC day, the same way for every report and chart."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, literal_column
from sqlalchemy.orm import Session


def utc_day(session: Session, created_at):
    """The SQL expression for the UTC day of ``created_at``."""
    if session.get_bind().dialect.name == "postgresql":
        # Constants as literals, not bound parameters: the SELECT and GROUP BY
        # expressions must be one and the same for the planner.
        return func.date_trunc(literal_column("'day'"), func.timezone(literal_column("'UTC'"), created_at))
    return func.date(created_at)


def as_date(value) -> date:
    """A day as the database answers it: a datetime (Postgres' date_trunc), a date, or text (SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
