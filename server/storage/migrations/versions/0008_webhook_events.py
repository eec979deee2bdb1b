"""Webhook events: an event's body is stored once, and each delivery points at it.

Revision ID: 0008
Revises: 0007

Every existing delivery becomes one event of its own (`evt_` + its message id), so the
log and pending retries carry over unchanged. SQLite cannot rebuild `webhook_deliveries`
here without its foreign keys deleting the attempts log, so there the columns are added
and dropped in place and `event_id` stays nullable in the file (the code always sets it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COPY = (
    "INSERT INTO webhook_events (id, event, workspace_id, payload, created_at) "
    "SELECT 'evt_' || substr(id, 5), event, workspace_id, payload, created_at "
    "FROM webhook_deliveries"
)
_POINT = "UPDATE webhook_deliveries SET event_id = 'evt_' || substr(id, 5)"


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])
    op.execute(_COPY)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE webhook_deliveries ADD COLUMN event_id VARCHAR(40) "
            "CONSTRAINT fk_webhook_deliveries_event_id_webhook_events "
            "REFERENCES webhook_events (id) ON DELETE CASCADE"
        )
        op.execute(_POINT)
        for column in ("event", "workspace_id", "payload"):
            op.execute(f"ALTER TABLE webhook_deliveries DROP COLUMN {column}")
    else:
        op.add_column("webhook_deliveries", sa.Column("event_id", sa.String(40), nullable=True))
        op.execute(_POINT)
        op.alter_column("webhook_deliveries", "event_id", nullable=False)
        op.create_foreign_key(
            "fk_webhook_deliveries_event_id_webhook_events",
            "webhook_deliveries",
            "webhook_events",
            ["event_id"],
            ["id"],
            ondelete="CASCADE",
        )
        for column in ("event", "workspace_id", "payload"):
            op.drop_column("webhook_deliveries", column)
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    raise NotImplementedError("webhook deliveries cannot go back to one body each")
