"""Times as people type them on a command line or in a form field: a
duration back from now (``30d``, ``12h``, ``90m``) or an ISO date/time, UTC
when it names no zone. Shared by the CLI (``--since``/``--until``) and the
console's what-if replay, so both read the same text the same way.

Errors are ``ValueError`` with a message that names the value and the forms
it takes; each caller adds the name its user typed (``--since``, ``since``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_moment(value: str) -> datetime:
    """'30d', '12h', '90m' before now, or an ISO date/time (UTC if no zone)."""
    match = _DURATION.fullmatch(value.strip())
    if match:
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r}: expected e.g. 30d, 12h, 90m or an ISO date like 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_option(value: str | None, option: str) -> datetime | None:
    """An optional time option (``--since``, ``--until``): absent stays
    ``None``; a value ``parse_moment`` refuses is a ValueError naming ``option``."""
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected 30d, 12h, 90m or an ISO date/time") from None
