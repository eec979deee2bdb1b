"""API keys scoped to one workspace and capped at a role.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("scope_workspace", sa.String(32), nullable=True))
    op.add_column("tokens", sa.Column("scope_role", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("scope_role")
        batch.drop_column("scope_workspace")
