"""The group-commit audit writer: every row it acknowledges is committed and
linked into one chain, whatever the number of threads, writer instances and
processes appending to the same database."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from services.audit.chain import GENESIS, canonical, content_of, link
from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.verify import verify
from services.audit.writer import AuditUnavailable, AuditWriter
from services.db import make_engine
from services.migrate import upgrade
from tests.live import ROOT


def decision(tenant: str = "t-writer", created_at: datetime | None = None, **overrides) -> DecisionRecord:
    """A realistic decision row: a policy input with candidates and findings, no text."""
    candidates = [
        {"id": e, "provider": p, "jurisdiction": j, "region": r, "self_hosted": False, "healthy": True,
         "latency_p95_ms": 900, "estimated_cost_usd": c}
        for e, p, j, r, c in (
            ("deepseek-chat", "deepseek", "CN", "cn", 0.0005),
            ("mistral-large", "mistral", "FR", "eu", 0.0021),
            ("gpt-4o", "openai", "US", "us", 2.68e-05),
        )
    ]
    values = dict(
        id=uuid.uuid4(),
        created_at=created_at or datetime.now(timezone.utc),
        tenant=tenant,
        key_id="k_0123456789abcdef",
        api="route",
        purpose="customer_support",
        requested_model="auto",
        status="routed",
        allowed=True,
        sensitivity="personal",
        gdpr_categories=["personal"],
        entities={"EMAIL_ADDRESS": 1, "PERSON": 2},
        endpoint="mistral-large",
        endpoint_jurisdiction="FR",
        endpoint_region="eu",
        plan=["mistral-large", "gpt-4o"],
        usage_estimate={"input_tokens": 812, "output_tokens": 256},
        estimated_cost_usd=0.0021,
        policy_input={
            "request": {"tenant": tenant, "key_id": "k_0123456789abcdef", "purpose": "customer_support",
                        "residency": "any", "latency_budget_ms": 1500, "risk_tolerance": "medium", "model": "auto"},
            "findings": {"languages": ["de"], "entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}}},
            "candidates": candidates,
        },
        policy_output={"sensitivity": "personal", "gdpr_categories": ["personal"], "plan": ["mistral-large", "gpt-4o"],
                       "denied": {"deepseek-chat": ["personal data may not go to CN (no adequacy decision)"]},
                       "obligations": {"gpt-4o": {"pseudonymise": ["EMAIL_ADDRESS"]}}, "reasons": []},
        policy_engine="embedded",
        policy_revision="sha256:" + "ab" * 32,
        decision_latency_ms=3.25,
    )
    values.update(overrides)
    return DecisionRecord(**values)


def outcome(of: DecisionRecord, **overrides) -> OutcomeRecord:
    values = dict(
        id=uuid.uuid4(), decision_id=of.id, created_at=datetime.now(timezone.utc), tenant=of.tenant, status="ok",
        endpoint="mistral-large", upstream_status=200, stream=False, input_tokens=800, output_tokens=120,
        cost_usd=0.0019, ttft_ms=210.5, total_ms=840.25,
        attempts=[{"endpoint": "mistral-large", "status": 200, "error_type": None, "reason": None, "latency_ms": 840.0}],
    )
    values.update(overrides)
    return OutcomeRecord(**values)


def test_chain_spec_is_the_documented_one():
    row = {"id": uuid.UUID(int=1), "created_at": datetime(2026, 11, 28, 14, 0, tzinfo=timezone.utc), "b": [1.5, None],
           "a": "é", "seq": 9, "prev_hash": "x", "hash": "y"}
    content = canonical(row)
    assert content == (
        '{"a":"é","b":[1.5,null],"created_at":"2026-11-28T14:00:00.000000+00:00",'
        '"id":"00000000-0000-0000-0000-000000000001"}'
    ).encode()
    import hashlib

    assert link(GENESIS, content) == "sha256:" + hashlib.sha256(GENESIS.encode() + b"\n" + content).hexdigest()
    assert set(content_of(decision())) == {c.name for c in DecisionRecord.__table__.columns} - {"seq", "prev_hash", "hash"}


def test_concurrent_threads_share_one_writer_and_the_chain_verifies(fresh_database_url):
    engine = make_engine(fresh_database_url)
    writer = AuditWriter(engine)
    written: list[DecisionRecord] = []
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            for _ in range(n):
                record = decision()
                writer.write(record)
                written.append(record)
                if len(written) % 3 == 0:
                    writer.write(outcome(record))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(40,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert not errors
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, seq FROM decisions")).all())
        # An unset JSON column is SQL NULL (as the ORM wrote it before), never the JSON literal null.
        assert connection.execute(text("SELECT count(*) FROM decisions WHERE error IS NOT NULL")).scalar() == 0
    # Every acknowledged row is in the table, with the seq it was given.
    assert {r.id: r.seq for r in written} == stored
    assert sorted(stored.values()) == list(range(1, 321))
    report = verify(engine)
    assert report.ok, report.to_dict()
    assert [c.rows_checked for c in report.chains] == [320, len(written) // 3]
    assert writer.rows == 320 + len(written) // 3 and writer.batches <= writer.rows
    engine.dispose()


WRITER_PROCESS = """
import sys
from services.audit.writer import AuditWriter
from services.db import make_engine
from tests.audit.test_writer import decision
engine = make_engine(sys.argv[1])
writer = AuditWriter(engine)
for _ in range(int(sys.argv[2])):
    writer.write(decision(tenant="t-process"))
writer.close()
"""


def test_two_writers_and_another_process_append_to_one_chain(fresh_database_url):
    engines = [make_engine(fresh_database_url) for _ in range(2)]
    writers = [AuditWriter(engine) for engine in engines]
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER_PROCESS, fresh_database_url, "150"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )

    def client(writer: AuditWriter) -> None:
        for _ in range(60):
            writer.write(decision())

    threads = [threading.Thread(target=client, args=(writers[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]
    report = verify(engines[0])
    assert report.ok, report.to_dict()
    assert report.chains[0].rows_checked == 6 * 60 + 150
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT seq, hash FROM audit_chain_heads WHERE chain = 'decisions'")).one()[0] == 510
    for writer, engine in zip(writers, engines):
        writer.close()
        engine.dispose()


def test_a_bad_row_fails_alone_and_its_neighbours_are_committed(fresh_database_url):
    engine = make_engine(fresh_database_url)
    writer = AuditWriter(engine)
    first = decision()
    writer.write(first)
    writer.write(outcome(first))
    with pytest.raises(AuditUnavailable):
        writer.write(outcome(first))  # a second outcome for the same decision
    writer.write(outcome(decision()))
    assert verify(engine).ok
    engine.dispose()


def test_database_down_raises_and_nothing_is_acknowledged():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    writer = AuditWriter(engine)
    with pytest.raises(AuditUnavailable) as caught:
        writer.write(decision())
    assert caught.value.status_code == 503
    engine.dispose()


def test_sqlite_chain(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/douane.db")
    upgrade(engine)
    writer = AuditWriter(engine)
    threads = [threading.Thread(target=lambda: [writer.write(decision()) for _ in range(20)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    report = verify(engine)
    assert report.ok and report.chains[0].rows_checked == 80
    engine.dispose()
