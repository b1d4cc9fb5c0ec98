"""Outcome filters walk the monthly partitions newest first (repository
page()): matches spread over several months come back in the list's order,
each once, across pages, with since/until and the cursor respected."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from services.audit import repository
from services.audit.retention import month_start
from services.audit.writer import append_in_session
from services.db import make_engine
from tests.audit.test_writer import decision, outcome

NOW = datetime.now(timezone.utc)


def test_rare_outcomes_over_several_months_page_in_order(database_url):
    tenant = "t-" + secrets.token_hex(6)
    records, expected = [], []
    for months in (0, 1, 3, 7):
        base = month_start(NOW, months).replace(day=2, hour=8)
        for i in range(6):
            d = decision(tenant=tenant, created_at=base + timedelta(hours=i))
            status = "exhausted" if i % 3 == 0 else "ok"
            records += [d, outcome(d, created_at=d.created_at + timedelta(seconds=2), status=status)]
            if status == "exhausted":
                expected.append(d)
    records.append(decision(tenant=tenant, created_at=NOW - timedelta(minutes=1)))  # no outcome at all
    engine = make_engine(database_url)
    with Session(engine) as session:
        append_in_session(session, records)
        session.commit()
        expected_ids = [d.id for d in sorted(expected, key=lambda d: (d.created_at, d.id), reverse=True)]

        def walk(**filters) -> list:
            found, after = [], None
            while True:
                page = repository.page(session, repository.DecisionFilter(tenant=tenant, outcome="exhausted", **filters), after, 3)
                found += [d.id for d in page]
                if len(page) < 3:
                    return found
                after = repository.Cursor(created_at=page[-1].created_at, id=page[-1].id)

        assert walk() == expected_ids
        since = month_start(NOW, 3)
        until = month_start(NOW, 0)
        in_range = [d.id for d in sorted(expected, key=lambda d: (d.created_at, d.id), reverse=True)
                    if since <= d.created_at < until]
        assert walk(since=since, until=until) == in_range and len(in_range) == 4
        none = repository.page(session, repository.DecisionFilter(tenant=tenant, outcome="none"), None, 10)
        assert len(none) == 1
    engine.dispose()
