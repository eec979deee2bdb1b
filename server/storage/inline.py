"""Small SQLite write transactions made right on the event loop.

On SQLite every write transaction takes the one write lock. Through aiosqlite a
transaction hops between the event loop and its thread for every statement and holds
the lock across those hops (milliseconds on a busy loop); the document log's appends
that meet it wait in SQLite's busy back-off (1, 2, 5, 10 ms …), which shows in the edit
fan-out. A small batch written synchronously on the loop holds the lock for its SQL
alone, and no append can meet it meanwhile: they are made on the loop too.

So that the loop is held briefly, statements run on the DBAPI connection, compiled once
from their SQLAlchemy form (`Prepared`: the SQL, its parameter order and each value's
conversion), and callers write in small chunks, each its own transaction, giving the
loop a turn between them (inserting a row into a table with a few indexes costs SQLite
about 20 us). A writer never waits for the lock: when another connection holds it,
`Busy` says to try again later.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement, Insert
from sqlalchemy.sql.compiler import SQLCompiler

from server.storage.database import sqlite_thread_engine

Rows = Sequence[dict[str, Any]]
MAX_PREPARED = 256
MAX_VARIABLES = 32_000  # per statement (SQLite allows 32,766)


class Busy(Exception):
    """Another connection holds SQLite's write lock."""


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect, with the order of its parameters and how
    each value becomes what the DBAPI takes (datetimes as text, JSON as text …)."""

    sql: str
    order: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> Prepared:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        order = tuple(compiled.positiontup or ())
        processors = tuple(compiled.binds[name].type.bind_processor(dialect) for name in order)
        return cls(str(compiled), order, processors)

    def parameters(self, rows: Rows) -> list[tuple[Any, ...]]:
        pairs = tuple(zip(self.order, self.processors, strict=True))
        return [
            tuple(
                process(row[name]) if process is not None else row[name] for name, process in pairs
            )
            for row in rows
        ]


class InlineWriter:
    """Writes on one DBAPI connection; call it from one thread only. With `wait` it
    waits for the lock like any connection (for a thread of its own) and checkpoints."""

    def __init__(self, engine: Engine, *, wait: bool = False) -> None:
        self.engine = engine
        self.wait = wait
        self._connection: Any = None
        self._prepared: dict[tuple[ClauseElement, tuple[str, ...], int], Prepared] = {}

    def write(self, statement: ClauseElement, rows: Rows) -> None:
        """`statement` over `rows` (all with the same keys) in one transaction, now.
        An INSERT goes as one multi-row statement: the sqlite3 module lets go of the
        GIL on every step, and on the event loop each step taken back from a busy
        thread can cost up to the switch interval (5 ms). `Busy` (nothing written) if
        another connection holds the lock; `IntegrityError` if a row breaks a
        constraint (nothing written either)."""
        if not rows:
            return
        connection = self._connect()
        keys = tuple(rows[0])
        cursor = connection.cursor()
        try:
            if not isinstance(statement, Insert):
                prepared = self._prepare(statement, keys, 1)
                cursor.executemany(prepared.sql, prepared.parameters(rows))
            else:
                per = max(1, MAX_VARIABLES // len(keys))  # SQLite's cap on parameters
                for start in range(0, len(rows), per):
                    part = rows[start : start + per]
                    prepared = self._prepare(statement, keys, len(part))
                    values = [value for row in prepared.parameters(part) for value in row]
                    cursor.execute(prepared.sql, values)
            connection.commit()
        except sqlite3.OperationalError as exc:
            connection.rollback()
            if is_busy(exc):
                raise Busy(str(exc)) from None
            raise
        except sqlite3.IntegrityError as exc:
            connection.rollback()
            raise IntegrityError("inline write", None, exc) from None
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def _connect(self) -> Any:
        if self._connection is None:
            # A pooled DBAPI connection: the engine's connect hook set WAL and friends.
            self._connection = self.engine.raw_connection()
            if not self.wait:
                self._connection.execute("PRAGMA busy_timeout=0")
                # Copying the WAL back (a checkpoint, tens of milliseconds) is left to
                # the other connections: on the loop it would hold up everything.
                self._connection.execute("PRAGMA wal_autocheckpoint=0")
        return self._connection

    def checkpoint(self) -> None:
        """Copy the WAL back into the database without blocking other connections."""
        self._connect().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _prepare(self, statement: ClauseElement, keys: tuple[str, ...], count: int) -> Prepared:
        """Compiled once per statement (pass module-level constants), set of keys and
        number of rows in one statement."""
        key = (statement, keys, count)
        prepared = self._prepared.get(key)
        if prepared is None:
            if len(self._prepared) > MAX_PREPARED:
                self._prepared.clear()
            prepared = Prepared.of(statement, self.engine.dialect, keys)
            if count > 1:
                head, _, values = prepared.sql.partition(" VALUES ")
                sql = f"{head} VALUES {', '.join([values] * count)}"
                prepared = Prepared(sql, prepared.order, prepared.processors)
            self._prepared[key] = prepared
        return prepared

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


def is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, 517) or (
        "locked" in str(error) or "busy" in str(error)
    )


def inline_writer(engine: AsyncEngine) -> InlineWriter | None:
    """An inline writer for a SQLite file; None for other databases (they lock rows)."""
    sync = sqlite_thread_engine(engine)
    return InlineWriter(sync) if sync is not None else None
