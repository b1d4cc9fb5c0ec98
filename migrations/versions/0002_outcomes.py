"""The append-only outcome log: what happened when a decision was executed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")

STATUSES = ("ok", "upstream_error", "exhausted", "timeout", "truncated", "client_disconnected", "gateway_error")


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("decision_id", sa.Uuid, sa.ForeignKey("decisions.id"), nullable=False),
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
        sa.CheckConstraint("status in (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status"),
        sa.UniqueConstraint("decision_id", name="uq_outcomes_decision_id"),
    )
    op.create_index("ix_outcomes_tenant_created_id", "outcomes", ["tenant", "created_at", "id"])

    # Append-only like the decisions: the database refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "postgresql":
        # douane_refuse_change() comes from 0001.
        op.execute(
            "CREATE TRIGGER outcomes_append_only BEFORE UPDATE OR DELETE ON outcomes "
            "FOR EACH ROW EXECUTE FUNCTION douane_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER outcomes_refuse_{action.lower()} BEFORE {action} ON outcomes "
                f"BEGIN SELECT RAISE(ABORT, 'douane: {action} on outcomes is refused: the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outcomes_append_only ON outcomes")
    op.drop_table("outcomes")
