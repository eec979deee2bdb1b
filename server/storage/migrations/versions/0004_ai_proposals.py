"""AI proposals persisted: pending ones survive a restart and any node can resolve them.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_proposals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("model", sa.String(160), nullable=False),
        sa.Column("base", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("before_text", sa.Text, nullable=True),
        sa.Column("applied_text", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ai_proposals"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_ai_proposals_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ai_proposals_workspace_id_created_at",
        "ai_proposals",
        ["workspace_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("ai_proposals")
