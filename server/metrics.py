"""Prometheus metrics for every subsystem, in one registry served at `/metrics`.

Labels stay low-cardinality (route templates, command ids, subscriber names), never
user names, paths or workspace ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "nexus_http_requests_total", "REST requests.", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "nexus_http_request_seconds", "REST request latency.", ["method", "route"], registry=REGISTRY
)
LOGINS = Counter("nexus_logins_total", "Login attempts.", ["outcome"], registry=REGISTRY)

SOCKET_CONNECTIONS = Gauge(
    "nexus_socket_connections", "Open Socket.IO connections on this node.", registry=REGISTRY
)
SOCKET_EVENTS = Counter(
    "nexus_socket_events_total",
    "Socket.IO events handled.",
    ["event", "outcome"],
    registry=REGISTRY,
)
SOCKET_REFUSED = Counter(
    "nexus_socket_refused_total", "Socket.IO connections refused.", ["reason"], registry=REGISTRY
)

BUS_PUBLISHED = Counter(
    "nexus_bus_published_total", "Events published on the bus by this node.", registry=REGISTRY
)
BUS_DELIVERED = Counter(
    "nexus_bus_delivered_total", "Events handled by subscribers.", ["subscriber"], registry=REGISTRY
)
BUS_DROPPED = Counter(
    "nexus_bus_dropped_total",
    "Events dropped because a subscriber's queue was full.",
    ["subscriber"],
    registry=REGISTRY,
)
BUS_HANDLER_ERRORS = Counter(
    "nexus_bus_handler_errors_total",
    "Subscriber handlers that raised.",
    ["subscriber"],
    registry=REGISTRY,
)
BUS_QUEUE_DEPTH = Gauge(
    "nexus_bus_queue_depth", "Events waiting per subscriber.", ["subscriber"], registry=REGISTRY
)

COMMANDS = Counter(
    "nexus_commands_total",
    "Command executions.",
    ["command", "source", "outcome"],
    registry=REGISTRY,
)
COMMAND_LATENCY = Histogram(
    "nexus_command_seconds", "Command execution time.", ["command"], registry=REGISTRY
)

COLLAB_ROOMS = Gauge("nexus_collab_rooms", "Open collaborative documents.", registry=REGISTRY)
COLLAB_CLIENTS = Gauge(
    "nexus_collab_clients", "Connections to collaborative documents.", registry=REGISTRY
)
COLLAB_UPDATES = Counter(
    "nexus_collab_updates_total", "Document updates made durable.", registry=REGISTRY
)
COLLAB_BYTES_PERSISTED = Counter(
    "nexus_collab_bytes_persisted_total",
    "Bytes of document updates persisted.",
    registry=REGISTRY,
)
COLLAB_WRITEBACK = Histogram(
    "nexus_collab_writeback_seconds",
    "From a document change to its file on disk.",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0),
    registry=REGISTRY,
)
COLLAB_REFUSED = Counter(
    "nexus_collab_refused_total",
    "Collaboration connections refused or closed for bad input.",
    ["reason"],
    registry=REGISTRY,
)

WATCHED_WORKSPACES = Gauge(
    "nexus_watched_workspaces", "Workspace folders watched on this node.", registry=REGISTRY
)
WATCH_CHANGES = Counter(
    "nexus_watch_changes_total", "File changes seen by the workspace watchers.", registry=REGISTRY
)
FILE_OPERATIONS = Counter(
    "nexus_file_operations_total",
    "File operations over REST, by operation and outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)
FILE_BYTES = Counter(
    "nexus_file_bytes_total",
    "Bytes of file content read and written over REST.",
    ["direction"],
    registry=REGISTRY,
)

SEARCHES = Counter(
    "nexus_search_total",
    "Workspace text searches (complete, truncated or invalid).",
    ["outcome"],
    registry=REGISTRY,
)
SEARCH_SECONDS = Histogram(
    "nexus_search_seconds",
    "Workspace text search time, flushing open documents included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SEARCH_TRUNCATED = Counter(
    "nexus_search_truncated_total",
    "Searches cut short, by reason (max_results, time_budget).",
    ["reason"],
    registry=REGISTRY,
)

GIT_OPERATIONS = Counter(
    "nexus_git_operations_total",
    "Git operations on workspace repositories, by operation and outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)
GIT_SECONDS = Histogram(
    "nexus_git_seconds",
    "Git operation time, waiting for the repository's lock included.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


TERMINALS_OPEN = Gauge(
    "nexus_terminals_open", "Terminals (PTY processes) open on this node.", registry=REGISTRY
)
TERMINAL_OUTPUT_BYTES = Counter(
    "nexus_terminal_output_bytes_total",
    "Bytes read from terminals and sent to their clients.",
    registry=REGISTRY,
)
TERMINALS_PAUSED = Gauge(
    "nexus_terminals_paused",
    "Terminals not being read because a client has too much unacknowledged output.",
    registry=REGISTRY,
)
TERMINAL_PAUSES = Counter(
    "nexus_terminal_pauses_total",
    "Times flow control stopped reading a terminal.",
    registry=REGISTRY,
)
TERMINAL_STUCK_DETACHED = Counter(
    "nexus_terminal_stuck_detached_total",
    "Clients detached from a terminal for not acknowledging its output.",
    registry=REGISTRY,
)

DEBUG_SESSIONS = Gauge(
    "nexus_debug_sessions", "Programs being debugged on this node.", registry=REGISTRY
)
DEBUG_STARTS = Counter(
    "nexus_debug_starts_total",
    "Debug sessions asked for, by outcome (started, refused, failed).",
    ["outcome"],
    registry=REGISTRY,
)


def render() -> bytes:
    return generate_latest(REGISTRY)


# -- workspace processes (server/supervisor) ----------------------------------------------
PROCESSES_RUNNING = Gauge(
    "nexus_processes_running", "Workspace processes running, by kind.", ["kind"], registry=REGISTRY
)
PROCESS_STARTS = Counter(
    "nexus_process_starts_total",
    "Workspace processes started, by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
PROCESS_RESTARTS = Counter(
    "nexus_process_restarts_total", "Services restarted after a crash.", ["kind"], registry=REGISTRY
)
PROCESS_CRASHES = Counter(
    "nexus_process_crashes_total",
    "Workspace processes that exited with an error without being asked to stop.",
    ["kind"],
    registry=REGISTRY,
)
PROCESS_KILLS = Counter(
    "nexus_process_kills_total",
    "Workspace processes (or what they left behind) that needed SIGKILL.",
    ["kind"],
    registry=REGISTRY,
)
