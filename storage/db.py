"""The SQLite connection: pragmas that keep erased bytes erased, migrations, one path for every query.

One aiosqlite connection serves the whole process. Every use of it goes through `Database.session`,
which holds an asyncio lock, so two use cases never interleave their statements or transactions;
aiosqlite costs a thread hop per call (about 30 µs), so callers use one call per query.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# secure_delete overwrites freed pages with zeros; auto_vacuum gives freed pages back; temp_store keeps
# sorts and temporary tables off the disk. synchronous=FULL: a commit survives power loss.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA busy_timeout=5000",
)


class DatabaseError(Exception):
    """The database cannot be used (corrupt, newer schema, unavailable)."""


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task | None = None

    @property
    def files(self) -> list[Path]:
        """The database and its sidecar files, for canary searches and wiping."""
        base = Path(self.path)
        return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]

    async def open(self) -> None:
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        try:
            # auto_vacuum only takes effect before the first table exists; on a new file it is set here.
            await self._conn.execute("PRAGMA auto_vacuum=FULL")
            for pragma in PRAGMAS:
                await self._conn.execute(pragma)
            await self.migrate()
        except BaseException:
            # aiosqlite's worker thread would otherwise keep the process alive after a refused open.
            await self.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise DatabaseError("database is not open")
        return self._conn

    @asynccontextmanager
    async def session(self, *, write: bool, single: bool = False) -> AsyncIterator[Session]:
        """One transaction: committed on a clean exit, rolled back on any exception.

        `single`: a write that is exactly one statement runs in SQLite's autocommit mode, where one
        statement is atomic on its own; that saves the BEGIN and COMMIT thread hops on the hottest
        writes (a keyboard's button tokens, spending one). The session refuses a second statement.

        Writes take `BEGIN IMMEDIATE` so the write lock is held from the first statement; that is what
        makes a claim atomic even if another process opened the same file. Reads run without BEGIN and
        COMMIT: the lock already keeps every writer of this process out, and two fewer thread hops per
        read matter on the hot path (each aiosqlite call costs one). Only another process (the CLI)
        could commit between two statements of a read; a view is then a moment newer, never wrong.
        """
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            # The lock is not re-entrant: a nested session would wait for itself forever.
            raise DatabaseError("nested database session in one task; finish the outer one first")
        async with self._lock:
            self._holder = task
            try:
                conn = self.conn
                session = Session(conn, single=single)
                if not write or single:
                    yield session
                    return
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield session
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
            finally:
                self._holder = None
        if write and session.erased:
            await self.checkpoint()

    async def checkpoint(self) -> None:
        """Move the WAL into the main file and truncate it, so erased bytes leave the -wal file too."""
        async with self._lock:
            await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def quick_check(self) -> str:
        async with self._lock:
            rows = await self.conn.execute_fetchall("PRAGMA quick_check")
        return ", ".join(str(row[0]) for row in rows)

    async def integrity_check(self) -> str:
        async with self._lock:
            rows = await self.conn.execute_fetchall("PRAGMA integrity_check")
        return ", ".join(str(row[0]) for row in rows)

    async def migrate(self) -> None:
        """Apply every migration not yet recorded, each in its own transaction."""
        conn = self.conn
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        applied = {row[0] for row in await conn.execute_fetchall("SELECT version FROM schema_migrations")}
        known = {version for version, _, _ in MIGRATIONS}
        if applied - known:
            raise DatabaseError("the database was made by a newer parcelbot; upgrade before opening it")
        for version, name, statements in MIGRATIONS:
            if version in applied:
                continue
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            log.info("migration applied: %s %s", version, name)


class Session:
    """Statements inside one transaction. Repositories use only this."""

    def __init__(self, conn: aiosqlite.Connection, *, single: bool = False) -> None:
        self._conn = conn
        self.erased = False  # set by deletions so the WAL is checkpointed after the commit
        self._single = single
        self._statements = 0

    def _next_statement(self) -> None:
        self._statements += 1
        if self._single and self._statements > 1:
            raise DatabaseError("a single-statement session ran a second statement; use a transaction")

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row | tuple]:
        self._next_statement()
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        self._next_statement()
        rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def run(self, sql: str, params: Sequence[Any] = (), *, erases: bool = True) -> int:
        """Execute a write; returns the number of rows changed.

        One thread hop: the statement gets `RETURNING 1`, so the changed rows come back with it
        (the cursor's rowcount would cost a second hop to read and close the cursor). Rows that
        cascades delete are not counted, as with rowcount. A DELETE that removed rows makes the
        session checkpoint after its commit, unless the caller says the rows held nothing to erase
        (`erases=False`)."""
        self._next_statement()
        statement = sql.strip().rstrip(";")
        verb = statement.split(None, 1)[0].upper() if statement else ""
        if verb not in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            await self._conn.execute_fetchall(statement, params)  # schema statements: nothing to count
            return 0
        count = len(await self._conn.execute_fetchall(f"{statement} RETURNING 1", params))
        if count and verb == "DELETE" and erases:
            self.erased = True
        return count

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._next_statement()
        await self._conn.executemany(sql, rows)

    def mark_erased(self) -> None:
        self.erased = True
