"""What several gateway replicas on one database share (besides the audit
chain, which 0004 already serialises through its locked head rows):

- ``api_keys.rate_limit_per_minute``: a key's own limit (NULL: the
  DOUANE_RATE_LIMIT_PER_MINUTE default; 0: unlimited).
- ``rate_limit_leases``: one row per (key, minute window) holding how many of
  the window's requests replicas have leased; never more than ``quota``.
- ``policy_revisions``: every install of a policy revision (reload, file
  watch, first start), newest last; the newest row is the revision the fleet
  serves.
- ``gateway_replicas``: a heartbeat per replica with the revision it serves,
  so a starting replica knows whether anyone still serves the shared revision.
- ``endpoint_breakers``: circuit breakers a replica opened, with until when,
  so the others stop planning that endpoint too.

The counters, heartbeats and breakers are short-lived and rebuilt within
seconds, so on PostgreSQL they are UNLOGGED (no WAL, no fsync on the request
path's leases; emptied after a crash, which only resets the current
minute's counts). ``policy_revisions`` is logged: it is the history of what
served when. ``douane_app`` may read and write all four; nothing here is
audit evidence (the decision rows record the revision they were decided by).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SHORT_LIVED = ("rate_limit_leases", "gateway_replicas", "endpoint_breakers")


def _grant(role: str, statement: str) -> None:
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN EXECUTE '{statement}'; "
        "END IF; END $$"
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    unlogged = {"prefixes": ["UNLOGGED"]} if postgres else {}
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("rate_limit_per_minute", sa.Integer, nullable=True))
        batch.create_check_constraint("rate_limit", "rate_limit_per_minute is null or rate_limit_per_minute >= 0")
    op.create_table(
        "rate_limit_leases",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quota", sa.Integer, nullable=False),
        sa.Column("granted", sa.Integer, nullable=False),
        sa.Column("last_grant", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key_id", "window_start", name="pk_rate_limit_leases"),
        **unlogged,
    )
    op.create_table(
        "policy_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("revision", sa.String(80), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "gateway_replicas",
        sa.Column("replica", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_revision", sa.String(80), nullable=False),
        **unlogged,
    )
    op.create_table(
        "endpoint_breakers",
        sa.Column("endpoint_id", sa.String(64), primary_key=True),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        **unlogged,
    )
    if postgres:
        tables = ", ".join(SHORT_LIVED + ("policy_revisions",))
        _grant("douane_app", f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO douane_app")
        _grant("douane_app", "GRANT USAGE ON SEQUENCE policy_revisions_id_seq TO douane_app")


def downgrade() -> None:
    for table in ("endpoint_breakers", "gateway_replicas", "policy_revisions", "rate_limit_leases"):
        op.drop_table(table)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("rate_limit", type_="check")
        batch.drop_column("rate_limit_per_minute")
