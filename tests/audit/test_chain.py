"""Tamper evidence: a row changed or removed directly in Postgres, as a
superuser bypassing the append-only trigger, is named by verification (the
library, GET /v1/audit/verify and `douane audit verify`)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from services.audit.verify import verify
from services.audit.writer import AuditWriter
from services.db import make_engine, make_sessionmaker
from services.gateway.app import build_runtime
from services.keys.models import Role
from services.keys.service import create_key
from tests.audit.test_writer import decision, outcome
from tests.conftest import fresh_database
from tests.live import ROOT, make_settings, serve_in_thread


@pytest.fixture(scope="module")
def chain_url(postgres_url):
    """A database of this module's own holding 30 decisions (tenants a and b)
    and 10 outcomes. Tests tamper inside a transaction they roll back, or
    undo what they committed, so every test starts from an intact chain."""
    with fresh_database(postgres_url) as url:
        engine = make_engine(url)
        writer = AuditWriter(engine)
        records = []
        for i in range(30):
            record = decision(tenant="t-aaaa" if i % 2 else "t-bbbb")
            writer.write(record)
            records.append(record)
            if i % 3 == 0:
                writer.write(outcome(record))
        writer.close()
        engine.dispose()
        yield url, records


@pytest.fixture
def chain(chain_url):
    url, records = chain_url
    engine = make_engine(url)
    yield engine, records
    assert verify(engine).ok, "a test left the shared chain broken"
    engine.dispose()


def as_superuser(connection, statement: str, **params) -> None:
    """Run ``statement`` as the superuser with triggers off: what a DBA with
    full rights (or an attacker with them) could do behind the gateway's back."""
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    connection.execute(text(statement), params)


@contextmanager
def tampered(engine, statement: str, **params):
    """The connection, inside a transaction where ``statement`` ran; rolled back after."""
    with engine.connect() as connection:
        transaction = connection.begin()
        as_superuser(connection, statement, **params)
        try:
            yield connection
        finally:
            transaction.rollback()


@contextmanager
def committed_change(engine, statement: str, undo: str, **params):
    """``statement`` committed (for other processes to see), ``undo`` committed after."""
    with engine.begin() as connection:
        as_superuser(connection, statement, **params)
    try:
        yield
    finally:
        with engine.begin() as connection:
            as_superuser(connection, undo, **params)


def test_an_intact_chain_verifies(chain):
    engine, _records = chain
    report = verify(engine)
    assert report.ok, report.to_dict()
    assert [c.rows_checked for c in report.chains] == [30, 10]
    assert report.chains[0].anchored_at == "genesis"


def test_a_changed_row_is_named(chain):
    engine, records = chain
    victim = records[17]
    with tampered(engine, "UPDATE decisions SET endpoint = 'deepseek-chat' WHERE id = :id", id=victim.id) as db:
        broken = verify(db).first_broken
    assert (broken.table, broken.seq, broken.id, broken.problem) == ("decisions", 18, str(victim.id), "content_changed")


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(chain):
    from services.audit.chain import canonical, link

    engine, records = chain
    victim = records[5]
    with engine.connect() as connection:
        row = dict(connection.execute(text("SELECT * FROM decisions WHERE id = :id"), {"id": victim.id}).mappings().one())
    row["sensitivity"] = "none"
    forged = link(row["prev_hash"], canonical(row))
    statement = "UPDATE decisions SET sensitivity = 'none', hash = :h WHERE id = :id"
    with tampered(engine, statement, h=forged, id=victim.id) as db:
        broken = verify(db).first_broken
    assert (broken.seq, broken.id, broken.problem) == (7, str(records[6].id), "link_broken")


def test_a_deleted_row_is_a_gap_and_a_deleted_tail_is_missing(chain):
    engine, records = chain
    with tampered(engine, "DELETE FROM decisions WHERE id = :id", id=records[9].id) as db:
        broken = verify(db).first_broken
    assert (broken.seq, broken.id, broken.problem) == (11, str(records[10].id), "gap")
    with tampered(engine, "DELETE FROM outcomes WHERE seq = 10") as db:
        outcomes = verify(db).chains[1].broken
    assert (outcomes.table, outcomes.problem) == ("outcomes", "missing_tail")


def test_a_changed_outcome_is_named(chain):
    engine, _records = chain
    with tampered(engine, "UPDATE outcomes SET cost_usd = 0 WHERE seq = 4") as db:
        broken = verify(db).chains[1].broken
    assert (broken.table, broken.seq, broken.problem) == ("outcomes", 4, "content_changed")


def test_a_time_range_is_checked_with_its_link_to_the_row_before(chain):
    engine, records = chain
    since = records[10].created_at
    until = records[20].created_at
    report = verify(engine, since=since, until=until)
    assert report.ok and report.chains[0].first_seq == 11 and report.chains[0].anchored_at == "row 10"
    statement = "UPDATE decisions SET hash = :h WHERE id = :id"
    with tampered(engine, statement, h="sha256:" + "f" * 64, id=records[9].id) as db:
        broken = verify(db, since=since, until=until).first_broken
        assert verify(db, since=until).ok  # the rows after the range are untouched
    assert (broken.seq, broken.problem) == (11, "link_broken")


def test_verify_over_http_withholds_other_tenants_row_ids(chain, chain_url, real_detector, policy_engine):
    engine, records = chain
    victim = next(r for r in records if r.tenant == "t-bbbb")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        _p, auditor_a = create_key(session, "t-aaaa", Role.auditor)
        _p, auditor_b = create_key(session, "t-bbbb", Role.auditor)
        _p, app_key = create_key(session, "t-aaaa", Role.app)
        session.commit()
    live, stop = serve_in_thread(
        build_runtime(make_settings(chain_url[0]), detector=real_detector, policy=policy_engine)
    )
    try:
        with live.client(auditor_a) as client:
            ok = client.get("/v1/audit/verify").json()
            assert ok["ok"] is True and ok["chains"][0]["rows_checked"] == 30
            with live.client(app_key) as app_client:
                assert app_client.get("/v1/audit/verify").status_code == 403
            change = "UPDATE decisions SET purpose = 'marketing' WHERE id = :id"
            with committed_change(engine, change, "UPDATE decisions SET purpose = 'customer_support' WHERE id = :id",
                                  id=victim.id):
                seen_by_a = client.get("/v1/audit/verify").json()
                with live.client(auditor_b) as other:
                    seen_by_b = other.get("/v1/audit/verify").json()
        with live.client(auditor_b) as client:
            since = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
            assert client.get("/v1/audit/verify", params={"since": since}).json()["ok"] is True
    finally:
        stop()
    assert seen_by_a["ok"] is False and seen_by_b["ok"] is False
    assert seen_by_a["first_broken"]["withheld"] is True and seen_by_a["first_broken"]["id"] is None
    assert seen_by_a["first_broken"]["seq"] == seen_by_b["first_broken"]["seq"]
    assert seen_by_b["first_broken"]["id"] == str(victim.id) and seen_by_b["first_broken"]["problem"] == "content_changed"


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOUANE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "audit", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_cli_verify_exits_0_then_1_naming_the_row(chain, chain_url):
    engine, records = chain
    done = run_cli(chain_url[0], "verify")
    assert done.returncode == 0, done.stderr
    assert "decisions: ok, 30 rows" in done.stdout
    change, undo = "UPDATE decisions SET allowed = false WHERE id = :id", "UPDATE decisions SET allowed = true WHERE id = :id"
    with committed_change(engine, change, undo, id=records[3].id):
        done = run_cli(chain_url[0], "verify", "--since", records[0].created_at.isoformat())
    assert done.returncode == 1
    assert f"decisions seq 4 id {records[3].id}: content_changed" in done.stdout


def test_parallel_walk_finds_the_same_first_broken_row(chain, monkeypatch):
    import services.audit.verify as verify_module

    engine, records = chain
    monkeypatch.setattr(verify_module, "PARALLEL_MIN_ROWS", 0)
    report = verify(engine, workers=3)
    assert report.ok and [c.rows_checked for c in report.chains] == [30, 10]
    change, undo = "UPDATE decisions SET tenant = 'forged' WHERE id = :id", "UPDATE decisions SET tenant = :t WHERE id = :id"
    with committed_change(engine, change, undo, id=records[24].id, t=records[24].tenant):
        broken = verify(engine, workers=3).first_broken
    assert (broken.seq, broken.id, broken.problem) == (25, str(records[24].id), "content_changed")
