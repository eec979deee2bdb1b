"""The relational schema, as SQLAlchemy Core tables.

The Alembic revisions in `migrations/versions/` create these tables; keep the two in step
(a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # "session" for logins, "api_key" for named keys made by a user for automation.
    Column("kind", String(16), nullable=False),
    Column("name", String(128), nullable=True),
    # SHA-256 of the secret: a stolen database does not yield usable tokens.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    # An API key's scope: the one workspace it may act in, and the highest role it acts
    # with (NULL: no limit). No foreign key: a deleted workspace must not unscope a key.
    Column("scope_workspace", String(32), nullable=True),
    Column("scope_role", String(16), nullable=True),
    Index("ix_tokens_user_id", "user_id"),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_memberships_user_id", "user_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("username", String(64), nullable=True),
    Column("workspace_id", String(32), nullable=True),
    Column("action", String(128), nullable=False),
    Column("source", String(32), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", JSON, nullable=True),
    Column("request_id", String(64), nullable=True),
    Index("ix_audit_log_workspace_id_at", "workspace_id", "at"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("path", Text, nullable=False),
    # Bumped when the document is rebuilt from the file; see server/collab/store.py.
    Column("epoch", Integer, nullable=False),
    # Yjs client ids of earlier epochs: a client still holding their history is refused.
    Column("retired_clients", JSON, nullable=False),
    Column("snapshot", LargeBinary, nullable=True),
    Column("snapshot_upto", BigInteger, nullable=False),
    # The text last written to (or read from) the file: the base of three-way merges.
    Column("disk_text", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_documents_workspace_id_path", "workspace_id", "path", unique=True),
)

document_updates = Table(
    "document_updates",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_document_updates_document_id_id", "document_id", "id"),
)

ai_threads = Table(
    "ai_threads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("title", String(200), nullable=False),
    Column("created_by", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_ai_threads_workspace_id_updated_at", "workspace_id", "updated_at"),
)

ai_messages = Table(
    "ai_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "thread_id", String(32), ForeignKey("ai_threads.id", ondelete="CASCADE"), nullable=False
    ),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("username", String(64), nullable=True),
    Column("content", Text, nullable=False),
    Column("model", String(128), nullable=True),
    Column("usage", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_ai_messages_thread_id_seq", "thread_id", "seq"),
)

# One row per model request (each failover attempt is its own row): what was billed.
ai_usage = Table(
    "ai_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("workspace_id", String(32), nullable=True),
    Column("intent", String(32), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("model", String(160), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("outcome", String(16), nullable=False),
    Index("ix_ai_usage_user_id_at", "user_id", "at"),
    Index("ix_ai_usage_workspace_id_at", "workspace_id", "at"),
)

# Every suggestion shown (completion, proposal, answer) and what became of it.
ai_outcomes = Table(
    "ai_outcomes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("workspace_id", String(32), nullable=True),
    Column("intent", String(32), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("model", String(160), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("outcome", String(16), nullable=False),
    Index("ix_ai_outcomes_intent_tier", "intent", "tier"),
)

ai_workspace_settings = Table(
    "ai_workspace_settings",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("redact_secrets", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# AI edits awaiting review, and what became of them: kept in the database so that a
# restart loses none and any node can accept one (the status moves by conditional update).
ai_proposals = Table(
    "ai_proposals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("path", Text, nullable=False),
    Column("summary", String(500), nullable=False),
    Column("diff", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("author", String(64), nullable=False),
    Column("model", String(160), nullable=False),
    Column("base", Text, nullable=False),  # the text the edit was made from
    Column("content", Text, nullable=False),  # the text the edit makes
    Column("before_text", Text, nullable=True),  # the text right before accepting
    Column("applied_text", Text, nullable=True),  # the text right after accepting
    Column("resolved_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Index("ix_ai_proposals_workspace_id_created_at", "workspace_id", "created_at"),
)

# A workspace's breakpoints: kept when no program runs, across restarts, on every node.
debug_breakpoints = Table(
    "debug_breakpoints",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("path", String(1024), primary_key=True),
    Column("line", Integer, primary_key=True),
)

# Extensions: outside services registered by a user for one workspace (or, by an admin,
# for all). The signing secret is kept as is: HMAC needs it, so it cannot be hashed.
extensions = Table(
    "extensions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True
    ),
    Column("name", String(100), nullable=False),
    Column("webhook_url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("commands", JSON, nullable=False),
    Column("role", String(16), nullable=False),  # the most it acts with
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text, nullable=True),  # also signs until `previous_until`
    Column("previous_until", DateTime(timezone=True), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_extensions_owner_id", "owner_id"),
)

# Which extension contributes each command id: the primary key keeps ids unique across
# extensions and nodes.
extension_commands = Table(
    "extension_commands",
    metadata,
    Column("command_id", String(128), primary_key=True),
    Column(
        "extension_id", String(32), ForeignKey("extensions.id", ondelete="CASCADE"), nullable=False
    ),
    Index("ix_extension_commands_extension_id", "extension_id"),
)

# The webhook outbox and delivery log. An event's body is stored once; each subscribed
# extension gets a delivery of it (retried from here, so a restart keeps retrying, and
# claimed by one node at a time).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("workspace_id", String(32), nullable=True),
    Column("payload", Text, nullable=False),  # the exact body sent on every attempt
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_events_created_at", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # the `webhook-id`, the same on each retry
    Column(
        "extension_id", String(32), ForeignKey("extensions.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "event_id",
        String(40),
        ForeignKey("webhook_events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),  # pending, succeeded, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_extension_created", "extension_id", "created_at"),
    Index("ix_webhook_deliveries_event_id", "event_id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "delivery_id",
        String(40),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("response_excerpt", Text, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),
)
