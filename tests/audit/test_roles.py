"""The database roles: the application may append and read, never change or
delete; the auditor may read the views and nothing else. Each test works in
a transaction it rolls back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from services.audit.writer import append
from services.db import make_engine
from tests.audit.test_writer import decision, outcome


@pytest.fixture
def connection(database_url) -> Iterator[Connection]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()
    engine.dispose()


def as_role(connection: Connection, role: str) -> None:
    connection.exec_driver_sql(f"SET LOCAL ROLE {role}")


def refused(connection: Connection, statement: str, **params) -> str:
    with pytest.raises(DBAPIError) as caught:
        with connection.begin_nested():
            connection.execute(text(statement), params)
    return str(caught.value.orig)


def test_the_app_role_appends_and_reads_but_cannot_change_or_delete(connection, tenant):
    as_role(connection, "douane_app")
    record = decision(tenant=tenant)
    append(connection, [record, outcome(record)])  # locks and moves the chain heads too
    assert connection.execute(text("SELECT count(*) FROM decisions WHERE tenant = :t"), {"t": tenant}).scalar() == 1
    for statement in (
        "UPDATE decisions SET endpoint = 'deepseek-chat' WHERE tenant = :t",
        "DELETE FROM decisions WHERE tenant = :t",
        "UPDATE outcomes SET status = 'ok' WHERE tenant = :t",
        "DELETE FROM outcomes WHERE tenant = :t",
        "TRUNCATE decisions",
        "DELETE FROM audit_chain_heads WHERE chain = 'decisions' AND :t = :t",
        "DROP TABLE decisions",
    ):
        assert "permission denied" in refused(connection, statement, t=tenant) or "must be owner" in refused(
            connection, statement, t=tenant
        )


def test_even_the_owner_is_refused_by_the_trigger(connection, tenant):
    record = decision(tenant=tenant)
    append(connection, [record])
    for statement in ("UPDATE decisions SET endpoint = 'x' WHERE tenant = :t", "DELETE FROM decisions WHERE tenant = :t",
                      "TRUNCATE decisions"):
        assert "append-only" in refused(connection, statement, t=tenant)


def test_the_auditor_role_reads_the_views_only(connection, tenant):
    append(connection, [decision(tenant=tenant)])
    as_role(connection, "douane_auditor")
    count = connection.execute(text("SELECT count(*) FROM audit_decisions WHERE tenant = :t"), {"t": tenant}).scalar()
    assert count == 1
    connection.execute(text("SELECT count(*) FROM audit_outcomes")).scalar()
    connection.execute(text("SELECT count(*) FROM audit_checkpoints_view")).scalar()
    for statement in ("SELECT count(*) FROM decisions", "SELECT count(*) FROM api_keys",
                      "DELETE FROM audit_decisions WHERE tenant = :t",
                      "INSERT INTO audit_chain_heads VALUES ('x', 1, 'y')"):
        assert "permission denied" in refused(connection, statement, t=tenant)
