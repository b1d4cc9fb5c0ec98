"""API keys may have the role ``platform_auditor`` (reads every tenant's
audit log, nothing else).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLES_0001 = ("app", "auditor", "dpo", "admin")


def _role_check(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table("api_keys") as batch:  # SQLite rebuilds the table; Postgres alters it
        batch.drop_constraint("role", type_="check")  # named ck_api_keys_role by the convention
        batch.create_check_constraint("role", "role in (" + ", ".join(f"'{r}'" for r in roles) + ")")


def upgrade() -> None:
    _role_check(ROLES_0001 + ("platform_auditor",))


def downgrade() -> None:
    op.execute("DELETE FROM api_keys WHERE role = 'platform_auditor'")
    _role_check(ROLES_0001)
