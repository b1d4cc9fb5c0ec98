"""Retention drops whole monthly partitions, after a signed checkpoint, and
the chain still verifies across the gap; without a signing key it refuses."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import text

from services.audit.retention import RetentionError, apply_retention, load_signing_key, month_start
from services.audit.verify import verify
from services.audit.writer import AuditWriter
from services.db import make_engine
from tests.audit.test_writer import decision, outcome
from tests.live import ROOT

NOW = datetime.now(timezone.utc)


def seed_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def months_ago(months: int, day: int = 10) -> datetime:
    return month_start(NOW, months).replace(day=day, hour=12)


def test_retention_drops_old_partitions_and_the_chain_verifies_across_the_gap(fresh_database_url):
    engine = make_engine(fresh_database_url)
    writer = AuditWriter(engine)
    for months in (14, 13, 3):
        for i in range(5):
            record = decision(created_at=months_ago(months) + timedelta(minutes=i))
            writer.write(record)
            writer.write(outcome(record, created_at=record.created_at + timedelta(seconds=1)))
    for _ in range(5):
        writer.write(decision())
    writer.write(decision(created_at=months_ago(13, day=20)))  # back-dated after newer rows: dropped mid-chain
    writer.close()
    key = Ed25519PrivateKey.generate()

    dropped = apply_retention(engine, 6, load_signing_key(seed_b64(key)))

    by_chain = {d.chain: d for d in dropped}
    assert by_chain["decisions"].rows == 11 and by_chain["decisions"].up_to_seq == 21
    assert by_chain["outcomes"].rows == 10 and by_chain["outcomes"].up_to_seq == 10
    # Every monthly partition before the cutoff goes, empty ones too; none after it.
    assert {f"decisions_p{months_ago(14):%Y_%m}", f"decisions_p{months_ago(13):%Y_%m}"} <= set(
        by_chain["decisions"].partitions
    )
    assert f"decisions_p{months_ago(6):%Y_%m}" not in by_chain["decisions"].partitions
    assert f"decisions_p{months_ago(7):%Y_%m}" in by_chain["decisions"].partitions
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM decisions")).scalar() == 10
        assert connection.execute(text("SELECT to_regclass(:p)"), {"p": f"decisions_p{months_ago(13):%Y_%m}"}).scalar() is None
        assert connection.execute(text("SELECT min(created_at) FROM decisions")).scalar() >= month_start(NOW, 6)

    report = verify(engine, public_key=key.public_key())
    assert report.ok, report.to_dict()
    decisions = report.chains[0]
    assert decisions.rows_checked == 10 and decisions.signatures == "verified" and decisions.checkpoints == 1
    assert verify(engine).ok  # without a public key the signature is not checked, the chain still is
    # A checkpoint signed by someone else's key does not verify.
    stranger = verify(engine, public_key=Ed25519PrivateKey.generate().public_key()).first_broken
    assert stranger.problem == "checkpoint_signature"

    # Tampering after retention is still named, and the checkpoint itself is append-only.
    with engine.connect() as connection:
        with connection.begin():
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(text("UPDATE decisions SET tenant = 'forged' WHERE seq = 17"))
            broken = verify(connection, public_key=key.public_key()).first_broken
            assert (broken.seq, broken.problem) == (17, "content_changed")
            connection.rollback()
        with pytest.raises(Exception, match="append-only"):
            with connection.begin():
                connection.execute(text("UPDATE audit_checkpoints SET up_to_seq = 1"))

    # A second run has nothing more to drop and leaves the chain verifiable.
    assert apply_retention(engine, 6, load_signing_key(seed_b64(key))) == []
    assert verify(engine, public_key=key.public_key()).ok
    engine.dispose()


def test_retention_refuses_without_a_signing_key(fresh_database_url):
    with pytest.raises(RetentionError, match="DOUANE_AUDIT_SIGNING_KEY"):
        load_signing_key(None)
    with pytest.raises(RetentionError, match="32-byte"):
        load_signing_key(base64.b64encode(b"short").decode())
    env = {k: v for k, v in os.environ.items() if k != "DOUANE_AUDIT_SIGNING_KEY"}
    env["DOUANE_DATABASE_URL"] = fresh_database_url
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "audit", "retention", "--keep-months", "6"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "DOUANE_AUDIT_SIGNING_KEY" in done.stderr


def test_cli_retention_and_public_key(fresh_database_url):
    key = Ed25519PrivateKey.generate()
    engine = make_engine(fresh_database_url)
    writer = AuditWriter(engine)
    writer.write(decision(created_at=months_ago(20)))
    writer.write(decision())
    writer.close()
    engine.dispose()
    env = {**os.environ, "DOUANE_DATABASE_URL": fresh_database_url, "DOUANE_AUDIT_SIGNING_KEY": seed_b64(key)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "services.cli", "audit", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    done = cli("retention", "--keep-months", "12")
    assert done.returncode == 0, done.stderr
    decisions_line = next(line for line in done.stdout.splitlines() if line.startswith("decisions: dropped"))
    assert f"decisions_p{months_ago(20):%Y_%m}" in decisions_line and decisions_line.endswith("(1 rows); checkpoint up to seq 1")
    # Partitions for the coming months: a missing one is made again, existing ones are left alone.
    ahead = month_start(NOW, -3)
    engine = make_engine(fresh_database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE decisions_p{ahead:%Y_%m}")
    engine.dispose()
    made = cli("partitions", "--months-ahead", "3")
    assert made.returncode == 0 and "1 partition(s) created" in made.stdout, made.stderr
    public = cli("public-key").stdout.split()[-1]
    env.pop("DOUANE_AUDIT_SIGNING_KEY")
    env["DOUANE_AUDIT_PUBLIC_KEY"] = public
    verified = cli("verify")
    assert verified.returncode == 0, verified.stdout
    assert "decisions: ok, 1 rows" in verified.stdout and "signatures verified" in verified.stdout
