"""AI: chat threads and messages, usage for accounting, suggestion outcomes, settings.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_threads",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ai_threads"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_ai_threads_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ai_threads_workspace_id_updated_at", "ai_threads", ["workspace_id", "updated_at"]
    )
    op.create_table(
        "ai_messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("usage", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ai_messages"),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["ai_threads.id"],
            name="fk_ai_messages_thread_id_ai_threads",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ai_messages_thread_id_seq", "ai_messages", ["thread_id", "seq"])
    op.create_table(
        "ai_usage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("workspace_id", sa.String(32), nullable=True),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("model", sa.String(160), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ai_usage"),
    )
    op.create_index("ix_ai_usage_user_id_at", "ai_usage", ["user_id", "at"])
    op.create_index("ix_ai_usage_workspace_id_at", "ai_usage", ["workspace_id", "at"])
    op.create_table(
        "ai_outcomes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("workspace_id", sa.String(32), nullable=True),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("model", sa.String(160), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ai_outcomes"),
    )
    op.create_index("ix_ai_outcomes_intent_tier", "ai_outcomes", ["intent", "tier"])
    op.create_table(
        "ai_workspace_settings",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("redact_secrets", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_ai_workspace_settings"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_ai_workspace_settings_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("ai_workspace_settings")
    op.drop_table("ai_outcomes")
    op.drop_table("ai_usage")
    op.drop_table("ai_messages")
    op.drop_table("ai_threads")
