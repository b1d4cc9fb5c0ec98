"""GET /v1/decisions/export: CSV and JSON Lines that parse back to exactly what
the list API pages, with the same filters, streamed from a server-side cursor."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from services.audit import repository
from services.audit.export import CSV_COLUMNS
from services.audit.models import DecisionRecord
from services.audit.writer import append_in_session
from services.db import make_engine
from services.migrate import upgrade
from tests.conftest import ADMIN_URL
from tests.live import ROOT
from tests.audit.test_filters import CLEAN, SPECIAL, KnownLog, chat, client, route, walk
from tests.providers.conftest import fakes, make_proxy, upstreams  # noqa: F401 (fixtures)


def export(base_url: str, key: str, **params):
    with client(base_url, key) as c:
        response = c.get("/v1/decisions/export", params=params)
    assert response.status_code == 200, response.text
    return response


def test_jsonl_is_the_list_api_one_decision_a_line(make_proxy, upstreams, tenant, make_key):
    log = KnownLog(make_proxy, upstreams, tenant, make_key)
    p = log.proxy
    for params in ({}, {"sensitivity": "none"}, {"outcome": "none"}, {"status": "routed", "category": "personal"}):
        response = export(p.base_url, p.auditor_key, format="jsonl", **params)
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = response.text.splitlines()
        assert [json.loads(line) for line in lines] == walk(p.base_url, p.auditor_key, **params), params
    everything = [json.loads(line) for line in export(p.base_url, p.auditor_key, format="jsonl").text.splitlines()]
    assert len(everything) == len(log.all)
    exported = {d["decision_id"]: d for d in everything}
    # Each line carries its outcome, as the detail view does.
    assert exported[log.chat_clean]["outcome"] == log.views[log.chat_clean]["outcome"]
    assert exported[log.chat_exhausted]["outcome"]["status"] == "exhausted"
    assert exported[log.route_clean]["outcome"] is None


def test_csv_has_a_fixed_header_and_flat_rows_matching_the_list(make_proxy, upstreams, tenant, make_key):
    log = KnownLog(make_proxy, upstreams, tenant, make_key)
    p = log.proxy
    response = export(p.base_url, p.auditor_key, format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"') and tenant in disposition
    reader = csv.reader(io.StringIO(response.text))
    header = next(reader)
    assert tuple(header) == CSV_COLUMNS
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    listed = walk(p.base_url, p.auditor_key)
    assert [r["decision_id"] for r in rows] == [d["decision_id"] for d in listed]
    for row, view in zip(rows, listed, strict=True):
        assert row["tenant"] == tenant and row["status"] == view["status"]
        assert row["sensitivity"] == (view["sensitivity"] or "")
        assert row["endpoint"] == (view["route"]["endpoint"] or "")
        assert row["endpoint_region"] == (view["endpoint_region"] or "")
        # JSON columns are JSON text.
        assert json.loads(row["gdpr_categories"]) == view["gdpr_categories"]
        assert json.loads(row["entities"]) == view["entities"]
        assert json.loads(row["denied"]) == view["denied"]
        assert json.loads(row["candidates"]) == view["candidates"]
        assert row["policy_revision"] == view["policy"]["revision"]
        assert int(row["seq"]) == view["seq"] and row["hash"] == view["hash"] and row["hash"].startswith("sha256:")
        outcome = view["outcome"]
        if outcome is None:
            assert row["outcome_status"] == "" and row["outcome_attempts"] == ""
        else:
            assert row["outcome_status"] == outcome["status"]
            assert row["outcome_endpoint"] == (outcome["endpoint"] or "")
            assert json.loads(row["outcome_attempts"]) == outcome["attempts"]
            if outcome["cost_usd"] is not None:
                assert float(row["outcome_cost_usd"]) == outcome["cost_usd"]
    # Filters apply to the CSV as to the list.
    special = export(p.base_url, p.auditor_key, format="csv", sensitivity="special").text
    assert [r[0] for r in list(csv.reader(io.StringIO(special)))[1:]] == [log.denied, log.chat_special]


def test_an_empty_export_is_a_header_or_nothing(gateway, make_key):
    key = make_key("auditor")
    assert export(gateway.base_url, key, format="csv").text.splitlines() == [",".join(CSV_COLUMNS)]
    assert export(gateway.base_url, key, format="jsonl").text == ""


def test_the_export_reads_in_batches_and_keeps_no_rows(proxy_rows, database_url):
    """Flat memory: a batch of the server-side cursor at a time, and nothing
    kept in the session once a row is rendered."""
    tenant, made = proxy_rows
    engine = make_engine(database_url)
    seen = []
    with Session(engine) as session:
        for decision, _outcome in repository.stream(session, repository.DecisionFilter(tenant=tenant), batch=2):
            seen.append(str(decision.id))
            assert len(session.identity_map) <= 2 * 2  # one batch of decisions and outcomes, at most
        session.rollback()
    engine.dispose()
    assert seen == list(reversed(made))


def test_a_server_side_cursor_reads_the_export_on_postgres(proxy_rows, database_url):
    tenant, made = proxy_rows
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = repository.stream(session, repository.DecisionFilter(tenant=tenant), batch=2)
        next(rows)
        # psycopg names the cursor of a streamed result; an ordinary one has no name.
        cursors = session.connection().exec_driver_sql(
            "SELECT count(*) FROM pg_cursors WHERE NOT is_holdable"
        ).scalar_one()
        assert cursors >= 1
        rows.close()
        session.rollback()
    engine.dispose()


@pytest.fixture
def proxy_rows(make_proxy, upstreams, tenant):
    proxy = make_proxy()
    made = [route(proxy.base_url, proxy.app_key, CLEAN) for _ in range(3)]
    made.append(chat(proxy, CLEAN))
    made.append(route(proxy.base_url, proxy.app_key, SPECIAL))
    return tenant, made


def _guide_blocks() -> list[str]:
    guide = (ROOT / "docs" / "auditor-guide.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", guide, flags=re.S)


def test_the_guides_row_hash_recomputes_the_hash_of_real_rows(proxy_rows, postgres_url):
    """The auditor guide's few lines of Python, run as written, over the
    auditor views: every row made through the gateway checks out."""
    tenant, made = proxy_rows
    namespace: dict = {}
    exec(_guide_blocks()[0], namespace)  # noqa: S102 - the guide's own code is what is tested
    url = postgres_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        decisions = conn.execute("SELECT * FROM audit_decisions WHERE tenant = %s", (tenant,)).fetchall()
        outcomes = conn.execute("SELECT * FROM audit_outcomes WHERE tenant = %s", (tenant,)).fetchall()
    assert {str(r["id"]) for r in decisions} == set(made) and len(outcomes) == 1
    for row in decisions + outcomes:
        assert namespace["row_hash"](row["prev_hash"], row) == row["hash"]


def test_the_guides_chain_walk_names_a_changed_row(postgres_url):
    """The guide's whole recipe on a database of its own: it verifies a clean
    chain and names the row a superuser changed behind the trigger's back."""
    name = f"douane_guide_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = postgres_url.set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        records = [_record(i) for i in range(3)]
        with Session(engine, expire_on_commit=False) as session:
            append_in_session(session, records)
            session.commit()
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        define, walk_chain = _guide_blocks()
        walk_chain = walk_chain.replace("postgresql://alice@db.example/douane", dsn)
        namespace: dict = {}
        exec(define + walk_chain, namespace)  # noqa: S102
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")  # triggers off
            connection.execute(
                text("UPDATE decisions SET sensitivity = 'none' WHERE id = :id"), {"id": records[1].id}
            )
        with pytest.raises(AssertionError, match=f"content changed at audit_decisions seq {records[1].seq} id {records[1].id}"):
            exec(define + walk_chain, {})  # noqa: S102
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _record(i: int) -> DecisionRecord:
    return DecisionRecord(
        id=uuid.uuid4(), created_at=datetime.now(timezone.utc), tenant="t-guide", key_id="k_0123456789abcdef",
        api="route", purpose="general", requested_model="auto", status="routed", allowed=True,
        sensitivity="special", gdpr_categories=["special:health"], entities={"HEALTH_TERM": i + 1},
        endpoint="eu-one", endpoint_jurisdiction="FR", endpoint_region="eu", plan=["eu-one"],
        usage_estimate={"input_tokens": 10, "output_tokens": 256}, estimated_cost_usd=0.0003 * (i + 1),
        policy_input={"candidates": [{"id": "eu-one", "region": "eu", "self_hosted": False,
                                      "estimated_cost_usd": 0.0005, "latency_p95_ms": 1200}]},
        policy_output={"plan": ["eu-one"], "denied": {}, "reasons": []},
        policy_engine="embedded", policy_revision="sha256:" + "0" * 64, decision_latency_ms=1.5,
    )
