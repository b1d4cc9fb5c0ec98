"""The outcome log is append-only in the database itself, on both backends,
and its migration goes down and up again."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.audit import repository
from services.audit.models import DecisionRecord, OutcomeRecord
from services.db import make_engine
from services.migrate import upgrade

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def decision_and_outcome() -> tuple[DecisionRecord, OutcomeRecord]:
    decision = DecisionRecord(
        id=uuid.uuid4(), created_at=NOW, tenant="t-outcomes", key_id="k_0123456789abcdef", api="chat",
        purpose="general", requested_model="auto", status="routed", allowed=True, sensitivity="none",
        gdpr_categories=[], entities={}, endpoint="a", plan=["a", "b"],
        usage_estimate={"input_tokens": 10, "output_tokens": 256}, estimated_cost_usd=0.001,
        policy_engine="embedded", policy_revision="sha256:" + "0" * 64, decision_latency_ms=1.0,
    )
    outcome = OutcomeRecord(
        id=uuid.uuid4(), decision_id=decision.id, created_at=NOW, tenant="t-outcomes", status="ok", endpoint="b",
        upstream_status=200, stream=False, input_tokens=10, output_tokens=20, cost_usd=0.0001, ttft_ms=5.0,
        total_ms=9.0,
        attempts=[{"endpoint": "a", "status": 503, "error_type": "upstream_5xx", "reason": "answered HTTP 503",
                   "latency_ms": 2.0},
                  {"endpoint": "b", "status": 200, "error_type": None, "reason": None, "latency_ms": 7.0}],
    )
    return decision, outcome


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, database_url, tmp_path):
    if request.param == "postgres":
        engine = make_engine(database_url)
    else:
        engine = make_engine(f"sqlite:///{tmp_path}/douane.db")
        upgrade(engine)
    yield engine
    engine.dispose()


def test_outcome_is_stored_read_back_and_cannot_be_changed(engine):
    decision, outcome = decision_and_outcome()
    with Session(engine, expire_on_commit=False) as session:
        repository.add(session, decision)
        repository.add_outcome(session, outcome)
        session.commit()
    with Session(engine, expire_on_commit=False) as session:
        stored = repository.get_outcome(session, decision.id)
        assert stored.endpoint == "b" and [a["endpoint"] for a in stored.attempts] == ["a", "b"]
        assert session.get(DecisionRecord, decision.id).outcome.id == outcome.id
    for statement in ("UPDATE outcomes SET status = 'exhausted' WHERE id = :id", "DELETE FROM outcomes WHERE id = :id"):
        with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement), {"id": outcome.id if engine.dialect.name == "postgresql" else outcome.id.hex})
            connection.rollback()


def test_one_outcome_per_decision(engine):
    decision, outcome = decision_and_outcome()
    _, second = decision_and_outcome()
    second.decision_id = decision.id
    with Session(engine, expire_on_commit=False) as session:
        repository.add(session, decision)
        repository.add_outcome(session, outcome)
        session.commit()
        with pytest.raises(DBAPIError):
            repository.add_outcome(session, second)
        session.rollback()


def test_migration_0002_goes_down_and_up(tmp_path):
    from alembic import command

    from services.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path}/douane.db")
    upgrade(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "outcomes" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "outcomes" in inspect(engine).get_table_names()
    engine.dispose()
