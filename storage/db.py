"""The SQLite connections: pragmas that keep erased bytes erased, migrations, one path for every query.

A writer connection and a read-only one serve the process. Every use goes through
`Database.session`, which holds that connection for the session alone (an asyncio lock for the
writer), so two use cases never interleave their statements or transactions on one connection. WAL
lets a view read its snapshot while a write is in progress.

Two ways to call SQLite (`engine`):

- "inline" (the default): the sqlite3 module on the event loop's own thread. A per-update statement
  uses an index and takes tens of microseconds, less than handing it to another thread costs: on
  the benchmark machine (2 vCPUs) each aiosqlite call took ~0.8 ms of wall time under load (waking
  its thread, the GIL, waking the loop again) against ~40 µs idle, a write transaction held the
  write lock for 4 ms, and half of the bot's CPU went to the hand-offs. Inline, the mixed journeys
  ran 1.7x faster at 0.55x the CPU. The cost: the loop waits while SQLite works, including the
  commit's fsync (~0.2 ms on a healthy disk) and the rare long statement (planning a week reads the
  open needs in ~0.1 s, once a week).
- "thread": aiosqlite, a thread per connection (three readers side by side). For a disk whose
  fsync takes milliseconds, where a stalled loop would cost more than the hand-offs.

Either way callers use one call per query, and sessions keep their statements few.

Checkpoints never run on the loop's connections (`wal_autocheckpoint=0` there). SQLite's automatic
checkpoint runs inside whichever COMMIT pushes the WAL past 1,000 pages, and an erasure's TRUNCATE
ran inline too: under the benchmark's load, COMMITs and checkpoints on the loop took up to 40-300 ms,
and every update in the process waited behind them. Instead a connection of its own copies the WAL
back in a worker thread (the sqlite3 module lets go of the GIL while SQLite works), in the
background once the WAL passes `WAL_CHECKPOINT_BYTES`, and on demand after an erasure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

ENGINES = ("inline", "thread")
DEFAULT_ENGINE = "inline"
# Read-only connections per engine. Inline, statements never overlap, so one is enough; on threads,
# three let views run side by side, so a slow view never holds up the others.
READERS = {"inline": 1, "thread": 3}

# SQLite's own default point for an automatic checkpoint: 1,000 pages of 4 KiB.
WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024

# secure_delete overwrites freed pages with zeros; auto_vacuum gives freed pages back; temp_store keeps
# sorts and temporary tables off the disk. synchronous=FULL: a commit survives power loss.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA busy_timeout=5000",
    "PRAGMA wal_autocheckpoint=0",  # the Checkpointer's job, off the event loop (module docstring)
    # When a checkpointed WAL starts over, its file is cut back to this size, so the file's size
    # tells how much the WAL holds (the Checkpointer reads it).
    f"PRAGMA journal_size_limit={WAL_CHECKPOINT_BYTES}",
)
# At most one background checkpoint per this many write commits: a reader that keeps the WAL from
# starting over must not turn the Checkpointer into a busy loop.
COMMITS_PER_CHECKPOINT = 100


class Connection(Protocol):
    """What sessions use of a connection: aiosqlite's, or `InlineConnection`."""

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any: ...
    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> Iterable[Any]: ...
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any: ...
    async def close(self) -> None: ...


class InlineConnection:
    """sqlite3 on the calling (event loop) thread, behind the same awaitables as aiosqlite's.

    Nothing here suspends, so a statement is never cancelled halfway and no other task runs during it.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, path: str) -> InlineConnection:
        return cls(sqlite3.connect(path, isolation_level=None))

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    async def close(self) -> None:
        self._conn.close()


async def _connect(engine: str, path: str) -> Connection:
    if engine == "inline":
        return await InlineConnection.connect(path)
    return await aiosqlite.connect(path, isolation_level=None)


class Checkpointer:
    """A connection used only to checkpoint, only from worker threads, one checkpoint at a time."""

    def __init__(self, path: str, write_lock: asyncio.Lock) -> None:
        # check_same_thread=False: asyncio.to_thread may pick a different worker each time; the
        # lock below means only one of them uses the connection at once.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in PRAGMAS:
            self._conn.execute(pragma)
        self._wal = path + "-wal"
        self._lock = asyncio.Lock()
        self._write_lock = write_lock  # the Database's: held, no commit can add to the WAL
        self._background: asyncio.Task | None = None
        self._commits = 0  # write commits since the last background checkpoint
        self.runs = 0  # checkpoints done (tests read it)

    async def run(self, mode: str) -> tuple[int, int, int]:
        """(busy, WAL frames, frames copied): SQLite's answer to `PRAGMA wal_checkpoint(mode)`."""
        async with self._lock:
            work = asyncio.ensure_future(asyncio.to_thread(self._checkpoint, mode))
            try:
                row = await asyncio.shield(work)
            except asyncio.CancelledError:
                # A thread cannot be stopped: keep this lock (and the caller its database locks)
                # until it is done, so nothing else uses the connection or the WAL meanwhile.
                await asyncio.gather(work, return_exceptions=True)
                raise
        self.runs += 1
        return row

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        return tuple(self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())

    def after_commit(self) -> None:
        """A write committed: when the WAL has grown past the mark, copy it back in the background.

        PASSIVE never waits for a reader or writer (whatever an open view still needs stays for the
        next one). Once every frame is copied, the next write starts the WAL from its beginning
        again, so the file stays near the mark."""
        self._commits += 1
        if self._background is not None or self._commits < COMMITS_PER_CHECKPOINT:
            return
        try:
            size = os.stat(self._wal).st_size
        except FileNotFoundError:
            return
        if size > WAL_CHECKPOINT_BYTES:
            self._commits = 0
            self._background = asyncio.get_running_loop().create_task(self._passive())

    async def _passive(self) -> None:
        try:
            # The bulk is copied while writes go on. Under a steady stream of commits, though, a
            # commit lands during or just after every pass, the WAL is never wholly copied, and it
            # never starts over; so the few frames added meanwhile are copied with writes held off
            # (views go on), and the next write starts the WAL from its beginning.
            await self.run("PASSIVE")
            async with self._write_lock:
                await self.run("PASSIVE")
        except sqlite3.Error as error:
            log.warning("background checkpoint failed: %s", type(error).__name__)
        finally:
            self._background = None

    async def close(self) -> None:
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        async with self._lock:
            self._conn.close()


class DatabaseError(Exception):
    """The database cannot be used (corrupt, newer schema, unavailable)."""


class Database:
    def __init__(self, path: Path | str, *, engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown database engine {engine!r}; use one of {', '.join(ENGINES)}")
        self.path = Path(path) if str(path) != ":memory:" else path
        self.engine = engine
        self._conn: Connection | None = None
        # Read-only connections for views; none for ":memory:" (a second connection to it would be
        # another database), where reads share the writer.
        self._readers: list[Connection] = []
        self._idle_readers: asyncio.Queue[Connection] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._holders: set[asyncio.Task] = set()
        self._checkpointer: Checkpointer | None = None

    @property
    def files(self) -> list[Path]:
        """The database and its sidecar files, for canary searches and wiping."""
        base = Path(self.path)
        return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]

    async def open(self) -> None:
        self._conn = await _connect(self.engine, str(self.path))
        try:
            # A damaged file is refused before anything writes to it (a PRAGMA, a migration): a
            # half-readable database could lose state changes or hand out the wrong row.
            await self._refuse_damage()
            # auto_vacuum only takes effect before the first table exists; on a new file it is set here.
            await self._conn.execute("PRAGMA auto_vacuum=FULL")
            for pragma in PRAGMAS:
                await self._conn.execute(pragma)
            await self.migrate()
            if self.path != ":memory:":  # a second connection to ":memory:" would be another database
                for _ in range(READERS[self.engine]):
                    reader = await _connect(self.engine, str(self.path))
                    self._readers.append(reader)
                    for pragma in PRAGMAS:
                        await reader.execute(pragma)
                    await reader.execute("PRAGMA query_only=ON")  # views cannot write, even by mistake
                    self._idle_readers.put_nowait(reader)
                self._checkpointer = Checkpointer(str(self.path), self._lock)
        except sqlite3.DatabaseError as error:  # damage quick_check did not see: one line, not a traceback
            await self.close()
            raise DatabaseError(f"the database file cannot be used ({error}); restore the latest backup "
                                "(`parcelbot restore`)") from None
        except BaseException:
            # aiosqlite's worker thread would otherwise keep the process alive after a refused open.
            await self.close()
            raise

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.close()
            self._checkpointer = None
        for reader in self._readers:
            await reader.close()
        self._readers = []
        self._idle_readers = asyncio.Queue()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise DatabaseError("database is not open")
        return self._conn

    @asynccontextmanager
    async def session(self, *, write: bool, single: bool = False) -> AsyncIterator[Session]:
        """One transaction: committed on a clean exit, rolled back on any exception.

        `single`: exactly one statement, run in SQLite's autocommit mode, where one statement is
        atomic on its own; that saves the BEGIN and COMMIT calls on the hottest statements (a lasting
        keyboard's tokens, spending one, recognising a member). The session refuses a second.

        Writes take `BEGIN IMMEDIATE` so the write lock is held from the first statement; that is what
        makes a claim atomic even if another process opened the same file. Reads run on the read-only
        connection inside `BEGIN` … `COMMIT`, so every statement of a view sees the same snapshot even
        while writes commit beside it.
        """
        task = asyncio.current_task()
        if task is not None and task in self._holders:
            # Locks are not re-entrant, and a read beside an open write would not see that write.
            raise DatabaseError("nested database session in one task; finish the outer one first")
        if not write and self._readers:
            reader = await self._idle_readers.get()
            try:
                async with self._transaction(task, reader, write=False, single=single) as session:
                    yield session
            finally:
                self._idle_readers.put_nowait(reader)
            return
        async with self._lock, self._transaction(task, self.conn, write=write, single=single) as session:
            yield session
        if write and session.erased:
            await self.checkpoint()
        elif write and self._checkpointer is not None:
            self._checkpointer.after_commit()

    @asynccontextmanager
    async def _transaction(self, task: asyncio.Task | None, conn: Connection, *, write: bool,
                           single: bool) -> AsyncIterator[Session]:
        """The statements of one session on `conn`, which the caller holds for this task alone."""
        if task is not None:
            self._holders.add(task)
        try:
            session = Session(conn, single=single)
            if single or (not write and conn is self._conn):
                # A single statement is atomic by itself; reads that share the writer (":memory:")
                # need no BEGIN either: the lock keeps every writer of this process out meanwhile.
                yield session
                return
            await conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield session
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        finally:
            self._holders.discard(task)

    async def checkpoint(self) -> None:
        """Move the WAL into the main file and truncate it, so erased bytes leave the -wal file too.

        It holds the writer and every reader: a view's open snapshot would keep the WAL from being
        truncated. The copying runs in a worker thread (the Checkpointer): meanwhile sessions wait for
        the locks, but the rest of the bot goes on."""
        async with self._lock:
            readers = [await self._idle_readers.get() for _ in self._readers]
            try:
                if self._checkpointer is None:  # ":memory:" has no WAL to truncate
                    await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    return
                busy, _, _ = await self._checkpointer.run("TRUNCATE")
                if busy:
                    # Only another process reading the file for longer than busy_timeout can cause
                    # this; the next erasure's checkpoint finishes the job.
                    log.warning("erasure checkpoint incomplete: another process holds the database")
            finally:
                for reader in readers:
                    self._idle_readers.put_nowait(reader)

    async def _refuse_damage(self) -> None:
        try:
            rows = await self._conn.execute_fetchall("PRAGMA quick_check")
        except sqlite3.DatabaseError as error:
            found = str(error)
        else:
            found = ", ".join(str(row[0]) for row in rows)
            if found == "ok":
                return
        raise DatabaseError(f"the integrity check failed ({found[:200]}); nothing was changed. Restore the latest "
                            "backup into an empty data directory (`parcelbot restore`)")

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

    def __init__(self, conn: Connection, *, single: bool = False) -> None:
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
