"""The encrypted store: one database file, one keyring, units of work over repositories.

`Store.create` makes a new database and keyring from a passphrase; `Store.unlock` opens an existing
one. The keyring is read and checked *before* the database is opened for writing, so a wrong
passphrase changes no byte on disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from bot.clock import Clock, SystemClock, to_db
from storage.crypto import (
    DEFAULT_KDF,
    KdfParams,
    Keyring,
    SecretKey,
    WrappedKey,
    derive_kek,
    new_salt,
)
from storage.db import DEFAULT_ENGINE, Database, DatabaseError
from storage.repositories import UnitOfWork
from storage.repositories.tokens import LiveTokens


class StoreMissing(Exception):
    """No database at the configured place (run `parcelbot init`)."""


class StoreExists(Exception):
    """A database already exists there; init refuses to overwrite it."""


def _read_keyring(path: Path) -> tuple[bytes, KdfParams, list[WrappedKey]]:
    """Read the salt, KDF parameters and wrapped keys without writing anything.

    `immutable=1` opens the file with no locks and no -wal/-shm files, so a failed unlock leaves the
    data directory exactly as it was. If a -wal file exists (a crash before the checkpoint) the
    keyring may live there, so that case uses an ordinary read-only open.
    """
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    try:
        conn = sqlite3.connect(f"file:{path}?{mode}", uri=True)
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot open the database: {error}") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        wrapped = [
            WrappedKey(key_id=row[0], purpose=row[1], blob=row[2])
            for row in conn.execute("SELECT key_id, purpose, wrapped FROM keyring").fetchall()
        ]
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"not a parcelbot database or damaged: {error}") from None
    finally:
        conn.close()
    if "kdf_salt" not in meta or not wrapped:
        raise DatabaseError("the database has no keyring; it was not made by `parcelbot init`")
    params = KdfParams.from_json(meta["kdf_params"].decode() if isinstance(meta["kdf_params"], bytes)
                                 else meta["kdf_params"])
    return bytes(meta["kdf_salt"]), params, wrapped


class Store:
    def __init__(self, db: Database, keyring: Keyring, clock: Clock) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.live_tokens = LiveTokens()  # screen buttons: memory only, gone with the process

    @classmethod
    async def create(
        cls, path: Path, passphrase: str, *, kdf: KdfParams = DEFAULT_KDF, clock: Clock | None = None,
        engine: str = DEFAULT_ENGINE,
    ) -> Store:
        clock = clock or SystemClock()
        if Path(path).exists():
            raise StoreExists(str(path))
        salt = new_salt()
        kek = await asyncio.to_thread(derive_kek, passphrase, salt, kdf)
        keyring, wrapped = Keyring.create(kek)
        db = Database(path, engine=engine)
        await db.open()
        async with db.session(write=True) as session:
            await session.run_many(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("kdf_salt", salt), ("kdf_params", kdf.to_json().encode())],
            )
            await _save_wrapped(session, wrapped, clock.now())
        await db.checkpoint()
        return cls(db, keyring, clock)

    @classmethod
    async def unlock(cls, path: Path, passphrase: str, *, clock: Clock | None = None,
                     engine: str = DEFAULT_ENGINE) -> Store:
        """Open an existing store; WrongPassphrase leaves every file untouched."""
        path = Path(path)
        if not path.exists():
            raise StoreMissing(str(path))
        salt, params, wrapped = _read_keyring(path)
        # scrypt takes about half a second and 128 MiB by design; keep the event loop free meanwhile.
        kek = await asyncio.to_thread(derive_kek, passphrase, salt, params)
        keyring = Keyring.unlock(kek, wrapped)
        db = Database(path, engine=engine)
        await db.open()
        return cls(db, keyring, clock or SystemClock())

    @classmethod
    async def unlock_with_key(cls, path: Path, kek: SecretKey, *, clock: Clock | None = None,
                              engine: str = DEFAULT_ENGINE) -> Store:
        _, _, wrapped = _read_keyring(Path(path))
        db = Database(path, engine=engine)
        await db.open()
        return cls(db, Keyring.unlock(kek, wrapped), clock or SystemClock())

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        """One use case that changes state: one IMMEDIATE transaction, all or nothing."""
        async with self.db.session(write=True) as session:
            yield UnitOfWork(session, self.keyring, self.clock, self.live_tokens)

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[UnitOfWork]:
        """A change that is exactly one SQL statement: atomic by itself, two calls (BEGIN, COMMIT) fewer.

        Nothing may follow the statement in the block: it is committed when it returns."""
        async with self.db.session(write=True, single=True) as session:
            yield UnitOfWork(session, self.keyring, self.clock, self.live_tokens)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """A consistent snapshot for views, on the read-only connection."""
        async with self.db.session(write=False) as session:
            yield UnitOfWork(session, self.keyring, self.clock, self.live_tokens)

    @asynccontextmanager
    async def read_one(self) -> AsyncIterator[UnitOfWork]:
        """A view that is exactly one SQL statement: a snapshot by itself, two calls (BEGIN, COMMIT) fewer."""
        async with self.db.session(write=False, single=True) as session:
            yield UnitOfWork(session, self.keyring, self.clock, self.live_tokens)


async def _save_wrapped(session, wrapped: list[WrappedKey], now: datetime) -> None:
    await session.run_many(
        "INSERT OR REPLACE INTO keyring (key_id, purpose, wrapped, created_at) VALUES (?, ?, ?, ?)",
        [(key.key_id, key.purpose, key.blob, to_db(now)) for key in wrapped],
    )
