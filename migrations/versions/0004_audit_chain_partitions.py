"""The audit log auditors can rely on: a hash chain over decisions and outcomes
(seq, prev_hash, hash; services/audit/chain.py has the spec), one head row per
chain that writers lock, signed retention checkpoints, and on PostgreSQL:

- both tables partitioned by month (RANGE on created_at), partitions for 24
  months back and 3 ahead plus a DEFAULT partition so no insert ever fails;
  ``douane_create_partitions(back, ahead)`` (and ``douane audit partitions``)
  makes later ones. The primary keys become (id, created_at) and the unique
  index on seq becomes (seq, created_at): PostgreSQL wants the partition key in
  every unique index. uuid4 ids and the writer's head lock keep id and seq
  unique in practice, and verification reports a repeated or missing seq.
- the outcomes -> decisions foreign key is dropped: a foreign key must point
  at a unique key, and (id, created_at) is the only one left; the gateway
  writes an outcome only after its decision is committed. "One outcome per
  decision" is kept by a BEFORE INSERT trigger (outcome writes are serialised
  by the outcomes chain head lock, so the check cannot race).
- roles (cluster-wide, created once, idempotently): ``douane_app`` (INSERT and
  SELECT on the log, SELECT/UPDATE on the chain heads; never UPDATE or
  DELETE) and ``douane_auditor`` (SELECT on the views ``audit_decisions``,
  ``audit_outcomes`` and ``audit_checkpoints_view``). Both NOLOGIN: grant
  them to login roles (``GRANT douane_app TO gateway_login``).

SQLite (the ``make run`` default) gets the same columns and tables, no
partitions or roles.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.audit.chain import GENESIS, canonical, link

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")

OUTCOME_STATUSES = ("ok", "upstream_error", "exhausted", "timeout", "truncated", "client_disconnected", "gateway_error")
MONTHS_BACK, MONTHS_AHEAD = 24, 3

DECISION_INDEXES = {
    "ix_decisions_tenant_created_id": ["tenant", "created_at", "id"],
    "ix_decisions_created_id": ["created_at", "id"],
    "ix_decisions_tenant_endpoint_created": ["tenant", "endpoint", "created_at"],
    "ix_decisions_tenant_sensitivity_created": ["tenant", "sensitivity", "created_at"],
    "ix_decisions_tenant_purpose_created": ["tenant", "purpose", "created_at"],
    "ix_decisions_tenant_revision_created": ["tenant", "policy_revision", "created_at"],
    "ix_decisions_tenant_key_created": ["tenant", "key_id", "created_at"],
    "ix_decisions_tenant_jurisdiction_created": ["tenant", "endpoint_jurisdiction", "created_at"],
    "ix_decisions_tenant_region_created": ["tenant", "endpoint_region", "created_at"],
}
OUTCOME_INDEXES = {
    "ix_outcomes_tenant_created_id": ["tenant", "created_at", "id"],
    "ix_outcomes_decision_status": ["decision_id", "status"],
}


def _chain_columns() -> list[sa.Column]:
    return [
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(71), nullable=False),
        sa.Column("hash", sa.String(71), nullable=False),
    ]


def _create_tables(partitioned: bool, chained: bool) -> None:
    """decisions and outcomes as of 0003 (chained=False, partitioned=False) or as of 0004."""
    pg_args = {"postgresql_partition_by": "RANGE (created_at)"} if partitioned else {}
    decision_pk = ("id", "created_at") if partitioned else ("id",)
    op.create_table(
        "decisions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("api", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("requested_model", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("error", JSONDoc, nullable=True),
        sa.Column("sensitivity", sa.String(16), nullable=True),
        sa.Column("gdpr_categories", JSONDoc, nullable=False),
        sa.Column("entities", JSONDoc, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=True),
        sa.Column("plan", JSONDoc, nullable=False),
        sa.Column("usage_estimate", JSONDoc, nullable=False),
        sa.Column("estimated_cost_usd", sa.Float, nullable=True),
        sa.Column("policy_input", JSONDoc, nullable=True),
        sa.Column("policy_output", JSONDoc, nullable=True),
        sa.Column("policy_engine", sa.String(16), nullable=False),
        sa.Column("policy_revision", sa.String(80), nullable=True),
        sa.Column("decision_latency_ms", sa.Float, nullable=False),
        sa.Column("endpoint_jurisdiction", sa.String(8), nullable=True),
        sa.Column("endpoint_region", sa.String(16), nullable=True),
        *(_chain_columns() if chained else []),
        sa.PrimaryKeyConstraint(*decision_pk, name="pk_decisions"),
        sa.CheckConstraint("status in ('routed', 'denied', 'error')", name="ck_decisions_status"),
        sa.CheckConstraint(
            "sensitivity is null or sensitivity in ('none', 'personal', 'special')", name="ck_decisions_sensitivity"
        ),
        **pg_args,
    )
    outcome_extra = []
    if not partitioned:
        outcome_extra = [
            sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name="fk_outcomes_decision_id_decisions"),
            sa.UniqueConstraint("decision_id", name="uq_outcomes_decision_id"),
        ]
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("decision_id", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=True),
        sa.Column("upstream_status", sa.Integer, nullable=True),
        sa.Column("attempts", JSONDoc, nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=True),
        sa.Column("output_tokens", sa.Integer, nullable=True),
        sa.Column("cost_usd", sa.Float, nullable=True),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("total_ms", sa.Float, nullable=False),
        *(_chain_columns() if chained else []),
        sa.PrimaryKeyConstraint(*decision_pk, name="pk_outcomes"),
        sa.CheckConstraint(
            "status in (" + ", ".join(f"'{s}'" for s in OUTCOME_STATUSES) + ")", name="ck_outcomes_status"
        ),
        *outcome_extra,
        **pg_args,
    )
    for name, columns in DECISION_INDEXES.items():
        op.create_index(name, "decisions", columns)
    for name, columns in OUTCOME_INDEXES.items():
        op.create_index(name, "outcomes", columns)
    op.execute("CREATE INDEX ix_decisions_categories ON decisions USING gin (gdpr_categories jsonb_path_ops)")
    if chained:
        op.create_index("uq_decisions_seq", "decisions", ["seq", "created_at"], unique=True)
        op.create_index("uq_outcomes_seq", "outcomes", ["seq", "created_at"], unique=True)
    for table in ("decisions", "outcomes"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION douane_refuse_change()"
        )


def _rename_aside(table: str, suffix: str) -> None:
    """Rename a table and every index on it (constraint indexes rename their
    constraint too), so the new table can take the names."""
    op.execute(f"ALTER TABLE {table} RENAME TO {table}{suffix}")
    op.execute(
        f"""
        DO $$
        DECLARE ix text;
        BEGIN
            FOR ix IN SELECT indexname FROM pg_indexes
                      WHERE schemaname = current_schema() AND tablename = '{table}{suffix}'
            LOOP
                EXECUTE format('ALTER INDEX %I RENAME TO %I', ix, ix || '{suffix}');
            END LOOP;
        END
        $$
        """
    )


def _copy_chained(bind, source: str, target: str) -> tuple[int, str]:
    """Copy rows oldest first, giving each its seq and hash; returns the head."""
    target_table = sa.Table(target, sa.MetaData(), autoload_with=bind)
    source_table = sa.Table(source, sa.MetaData(), autoload_with=bind)
    rows = bind.execute(
        sa.select(source_table).order_by(source_table.c.created_at, source_table.c.id)
    ).mappings()
    seq, head = 0, GENESIS
    batch = []
    for row in rows:
        values = dict(row)
        seq += 1
        values.update(seq=seq, prev_hash=head, hash=link(head, canonical(values)))
        head = values["hash"]
        batch.append(values)
        if len(batch) >= 1000:
            bind.execute(target_table.insert(), batch)
            batch = []
    if batch:
        bind.execute(target_table.insert(), batch)
    return seq, head


PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION douane_create_partitions(months_back int, months_ahead int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    m timestamptz;
    name text;
    made int := 0;
BEGIN
    FOREACH t IN ARRAY ARRAY['decisions', 'outcomes'] LOOP
        FOR i IN -months_back..months_ahead LOOP
            m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
            name := format('%s_p%s', t, to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'));
            IF to_regclass(name) IS NULL THEN
                BEGIN
                    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                                   name, t, m, m + interval '1 month');
                    made := made + 1;
                EXCEPTION WHEN check_violation THEN
                    -- The DEFAULT partition already holds rows of that month: they stay there.
                    RAISE WARNING 'douane: % not created: the default partition holds rows of that month', name;
                END;
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;

CREATE OR REPLACE FUNCTION douane_one_outcome_per_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM outcomes WHERE decision_id = NEW.decision_id) THEN
        RAISE EXCEPTION 'douane: decision % already has an outcome', NEW.decision_id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION douane_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'douane: TRUNCATE on % is refused: the audit log is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

PG_ROLES = """
DO $$
DECLARE role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['douane_app', 'douane_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN NULL;  -- another database's migration won
                WHEN insufficient_privilege THEN
                    RAISE WARNING 'douane: role % not created (the migrating user may not CREATE ROLE); '
                                  'create it as a superuser and run the grants of migration 0004', role;
            END;
        END IF;
    END LOOP;
END
$$;
"""

PG_VIEWS = [
    "CREATE VIEW audit_decisions AS SELECT * FROM decisions",
    "CREATE VIEW audit_outcomes AS SELECT * FROM outcomes",
    "CREATE VIEW audit_checkpoints_view AS SELECT * FROM audit_checkpoints",
]

# (role, statement): run only where the role exists.
PG_GRANTS = [
    ("douane_app", "GRANT USAGE ON SCHEMA public TO douane_app"),
    ("douane_app", "GRANT SELECT, INSERT ON decisions, outcomes TO douane_app"),
    ("douane_app", "GRANT SELECT, UPDATE ON audit_chain_heads TO douane_app"),
    ("douane_app", "GRANT SELECT ON audit_checkpoints, api_keys, alembic_version TO douane_app"),
    ("douane_auditor", "GRANT USAGE ON SCHEMA public TO douane_auditor"),
    ("douane_auditor", "GRANT SELECT ON audit_decisions, audit_outcomes, audit_checkpoints_view TO douane_auditor"),
]


def _grant(role: str, statement: str) -> None:
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN EXECUTE '{statement}'; "
        "END IF; END $$"
    )


def _create_chain_tables() -> None:
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(71), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("up_to_seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(71), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("dropped_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dropped_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("partitions", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_checkpoints_chain_seq", "audit_checkpoints", ["chain", "up_to_seq"])


def _set_heads(bind, heads: dict[str, tuple[int, str]]) -> None:
    table = sa.table("audit_chain_heads", sa.column("chain"), sa.column("seq"), sa.column("hash"))
    bind.execute(table.insert(), [{"chain": c, "seq": s, "hash": h} for c, (s, h) in heads.items()])


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        _upgrade_sqlite(bind)
        return
    _create_chain_tables()
    _rename_aside("outcomes", "_pre0004")
    _rename_aside("decisions", "_pre0004")
    op.execute("DROP TRIGGER IF EXISTS outcomes_append_only ON outcomes_pre0004")
    op.execute("DROP TRIGGER IF EXISTS decisions_append_only ON decisions_pre0004")
    op.execute(PG_FUNCTIONS)
    _create_tables(partitioned=True, chained=True)
    op.execute("CREATE TABLE decisions_default PARTITION OF decisions DEFAULT")
    op.execute("CREATE TABLE outcomes_default PARTITION OF outcomes DEFAULT")
    op.execute(f"SELECT douane_create_partitions({MONTHS_BACK}, {MONTHS_AHEAD})")
    heads = {
        "decisions": _copy_chained(bind, "decisions_pre0004", "decisions"),
        "outcomes": _copy_chained(bind, "outcomes_pre0004", "outcomes"),
    }
    _set_heads(bind, heads)
    op.execute("DROP TABLE outcomes_pre0004")
    op.execute("DROP TABLE decisions_pre0004")
    op.execute(
        "CREATE TRIGGER outcomes_one_per_decision BEFORE INSERT ON outcomes "
        "FOR EACH ROW EXECUTE FUNCTION douane_one_outcome_per_decision()"
    )
    for table in ("decisions", "outcomes"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION douane_refuse_truncate()"
        )
    # A checkpoint is evidence too: written once, never changed.
    op.execute(
        "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints "
        "FOR EACH ROW EXECUTE FUNCTION douane_refuse_change()"
    )
    op.execute(PG_ROLES)
    for statement in PG_VIEWS:
        op.execute(statement)
    for role, statement in PG_GRANTS:
        _grant(role, statement)


def _sqlite_triggers(create: bool) -> None:
    for table in ("decisions", "outcomes"):
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_refuse_{action.lower()}"
            if create:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, "
                    f"'douane: {action} on {table} is refused: the audit log is append-only'); END"
                )
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _upgrade_sqlite(bind) -> None:
    _create_chain_tables()
    _sqlite_triggers(create=False)  # the backfill below updates existing rows once
    heads = {}
    for table in ("decisions", "outcomes"):
        op.add_column(table, sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"))
        op.add_column(table, sa.Column("prev_hash", sa.String(71), nullable=False, server_default=""))
        op.add_column(table, sa.Column("hash", sa.String(71), nullable=False, server_default=""))
        reflected = sa.Table(table, sa.MetaData(), autoload_with=bind)
        seq, head = 0, GENESIS
        for row in bind.execute(sa.select(reflected).order_by(reflected.c.created_at, reflected.c.id)).mappings().all():
            values = dict(row)
            for name in ("id", "decision_id"):  # SQLite reflects Uuid as CHAR(32): hash them as the model reads them
                if isinstance(values.get(name), str):
                    values[name] = uuid.UUID(values[name])
            seq += 1
            digest = link(head, canonical(values))
            bind.execute(
                reflected.update().where(reflected.c.id == values["id"]).values(seq=seq, prev_hash=head, hash=digest)
            )
            head = digest
        heads[table] = (seq, head)
        op.create_index(f"uq_{table}_seq", table, ["seq"], unique=True)
    _set_heads(bind, heads)
    _sqlite_triggers(create=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        _sqlite_triggers(create=False)
        for table in ("decisions", "outcomes"):
            op.drop_index(f"uq_{table}_seq", table)
            with op.batch_alter_table(table) as batch:
                for column in ("hash", "prev_hash", "seq"):
                    batch.drop_column(column)
        _sqlite_triggers(create=True)
        op.drop_table("audit_checkpoints")
        op.drop_table("audit_chain_heads")
        return
    for view in ("audit_checkpoints_view", "audit_outcomes", "audit_decisions"):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    _grant("douane_app", "REVOKE ALL ON api_keys, alembic_version FROM douane_app")
    # The roles stay: they are cluster-wide and other databases may use them.
    _rename_aside("outcomes", "_part")
    _rename_aside("decisions", "_part")
    _create_tables(partitioned=False, chained=False)
    for table in ("decisions", "outcomes"):
        columns = ", ".join(
            c.name for c in sa.Table(table, sa.MetaData(), autoload_with=bind).columns
        )
        op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_part ORDER BY seq")
    op.execute("DROP TABLE outcomes_part CASCADE")
    op.execute("DROP TABLE decisions_part CASCADE")
    op.execute("DROP FUNCTION IF EXISTS douane_create_partitions(int, int)")
    op.execute("DROP FUNCTION IF EXISTS douane_one_outcome_per_decision()")
    op.execute("DROP FUNCTION IF EXISTS douane_refuse_truncate()")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_heads")
