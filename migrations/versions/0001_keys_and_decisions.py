"""API keys and the append-only decision log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role in ('app', 'auditor', 'dpo', 'admin')", name="role"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Uuid, primary_key=True),
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
        sa.CheckConstraint("status in ('routed', 'denied', 'error')", name="status"),
        sa.CheckConstraint("sensitivity is null or sensitivity in ('none', 'personal', 'special')", name="sensitivity"),
    )
    op.create_index("ix_decisions_tenant_created_id", "decisions", ["tenant", "created_at", "id"])
    op.create_index("ix_decisions_created_id", "decisions", ["created_at", "id"])

    # The log is append-only in the database itself, not by the application's
    # good manners: any UPDATE or DELETE is refused, whoever sends it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION douane_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'douane: % on % is refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions "
            "FOR EACH ROW EXECUTE FUNCTION douane_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER decisions_refuse_{action.lower()} BEFORE {action} ON decisions "
                f"BEGIN SELECT RAISE(ABORT, 'douane: {action} on decisions is refused: the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS decisions_append_only ON decisions")
        op.execute("DROP FUNCTION IF EXISTS douane_refuse_change()")
    op.drop_table("decisions")
    op.drop_table("api_keys")
