"""The decision log itself: append-only in the database, keyset-paged and
filtered by time for auditors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.audit import repository
from services.audit.models import DecisionRecord
from services.db import make_engine

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def session(database_url):
    """One transaction per test, rolled back at the end."""
    engine = make_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session
    transaction.rollback()
    connection.close()
    engine.dispose()


def record(tenant: str, created_at: datetime, **overrides) -> DecisionRecord:
    values = dict(
        id=uuid.uuid4(),
        created_at=created_at,
        tenant=tenant,
        key_id="k_0123456789abcdef",
        api="route",
        purpose="general",
        requested_model="auto",
        status="routed",
        allowed=True,
        sensitivity="none",
        gdpr_categories=[],
        entities={},
        endpoint="deepseek-chat",
        plan=["deepseek-chat"],
        usage_estimate={"input_tokens": 10, "output_tokens": 256},
        estimated_cost_usd=0.0003,
        policy_engine="embedded",
        policy_revision="sha256:" + "0" * 64,
        decision_latency_ms=1.0,
    )
    values.update(overrides)
    return DecisionRecord(**values)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE decisions SET endpoint = 'gpt-4o' WHERE tenant = :t",
        "UPDATE decisions SET sensitivity = 'none', allowed = true WHERE tenant = :t",
        "DELETE FROM decisions WHERE tenant = :t",
    ],
)
def test_the_database_refuses_to_change_or_delete_decisions(session, tenant, statement):
    repository.add(session, record(tenant, T0, sensitivity="special", endpoint="mistral-large"))
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text(statement), {"t": tenant})
    row = session.execute(text("SELECT sensitivity, endpoint FROM decisions WHERE tenant = :t"), {"t": tenant}).one()
    assert tuple(row) == ("special", "mistral-large")


def test_pages_walk_every_row_once_newest_first(session, tenant):
    # Several rows share a timestamp: the id breaks the tie, so no row is skipped or repeated.
    stamps = [T0 + timedelta(seconds=i // 3) for i in range(11)]
    for stamp in stamps:
        repository.add(session, record(tenant, stamp))
    repository.add(session, record("someone-else", T0))
    seen: list[DecisionRecord] = []
    after = None
    while True:
        rows = repository.page(session, repository.DecisionFilter(tenant=tenant), after, limit=4)
        seen += rows
        if len(rows) < 4:
            break
        after = repository.Cursor(created_at=rows[-1].created_at, id=rows[-1].id)
    assert len(seen) == 11 and len({r.id for r in seen}) == 11
    keys = [(r.created_at, r.id) for r in seen]
    assert keys == sorted(keys, reverse=True)
    assert all(r.tenant == tenant for r in seen)


def test_time_range_is_inclusive_at_the_start_and_exclusive_at_the_end(session, tenant):
    for hours in range(5):
        repository.add(session, record(tenant, T0 + timedelta(hours=hours)))
    filters = repository.DecisionFilter(tenant=tenant, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    rows = repository.page(session, filters, None, limit=100)
    assert [r.created_at for r in rows] == [T0 + timedelta(hours=2), T0 + timedelta(hours=1)]


def test_paging_over_http_with_cursor(gateway, make_key, tenant):
    body = {"model": "auto", "messages": [{"role": "user", "content": "Translate 'good morning' into Dutch."}]}
    with gateway.client(make_key("app", tenant)) as client:
        made = [client.post("/v1/route", json=body).json()["decision_id"] for _ in range(5)]
    seen = []
    with gateway.client(make_key("auditor", tenant)) as auditor:
        url = "/v1/decisions?limit=2"
        while True:
            page = auditor.get(url).json()
            seen += [d["decision_id"] for d in page["data"]]
            if not page["next_cursor"]:
                break
            url = f"/v1/decisions?limit=2&cursor={page['next_cursor']}"
        assert seen == list(reversed(made))
        since = datetime.now(timezone.utc) + timedelta(minutes=1)
        assert auditor.get("/v1/decisions", params={"since": since.isoformat()}).json()["data"] == []
        until = datetime.now(timezone.utc) + timedelta(minutes=1)
        assert len(auditor.get("/v1/decisions", params={"until": until.isoformat()}).json()["data"]) == 5
