"""What auditors filter on: where the chosen endpoint is (its jurisdiction and
region as the policy saw them, copied from the policy input at decision time)
and indexes for the auditor API's filters, each led by the tenant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FILTER_INDEXES = {
    "ix_decisions_tenant_endpoint_created": ["tenant", "endpoint", "created_at"],
    "ix_decisions_tenant_sensitivity_created": ["tenant", "sensitivity", "created_at"],
    "ix_decisions_tenant_purpose_created": ["tenant", "purpose", "created_at"],
    "ix_decisions_tenant_revision_created": ["tenant", "policy_revision", "created_at"],
    "ix_decisions_tenant_key_created": ["tenant", "key_id", "created_at"],
    "ix_decisions_tenant_jurisdiction_created": ["tenant", "endpoint_jurisdiction", "created_at"],
    "ix_decisions_tenant_region_created": ["tenant", "endpoint_region", "created_at"],
}


def upgrade() -> None:
    op.add_column("decisions", sa.Column("endpoint_jurisdiction", sa.String(8), nullable=True))
    op.add_column("decisions", sa.Column("endpoint_region", sa.String(16), nullable=True))
    for name, columns in FILTER_INDEXES.items():
        op.create_index(name, "decisions", columns)
    op.create_index("ix_outcomes_decision_status", "outcomes", ["decision_id", "status"])
    if op.get_bind().dialect.name == "postgresql":
        # Category filter: gdpr_categories @> '["special:health"]'.
        op.execute("CREATE INDEX ix_decisions_categories ON decisions USING gin (gdpr_categories jsonb_path_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_decisions_categories")
    op.drop_index("ix_outcomes_decision_status", "outcomes")
    for name in FILTER_INDEXES:
        op.drop_index(name, "decisions")
    op.drop_column("decisions", "endpoint_region")
    op.drop_column("decisions", "endpoint_jurisdiction")
