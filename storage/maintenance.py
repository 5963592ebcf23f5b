"""Operator work on the whole store: backup, restore, passphrase and key rotation, wipe.

Each step is crash-safe: a backup is written to a temporary name and renamed; a restore refuses a
non-empty data directory; a passphrase rotation is one transaction; a key rotation first stores the
new key, then re-seals in batches that each commit, and a second run resumes where a crash stopped.
The index key (keyed hashes for lookups) is replaced in one transaction at the start of a rotation.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.clock import to_db
from storage.crypto import (
    DEFAULT_KDF,
    KdfParams,
    Keyring,
    OpenFailed,
    SecretKey,
    WrongPassphrase,
    derive_kek,
    new_salt,
    open_backup,
    seal_backup,
)
from storage.db import DatabaseError
from storage.store import Store, _read_keyring, _save_wrapped

Progress = Callable[[int, int], None]
BATCH = 500
BACKUP_SUFFIX = ".pbbackup"

# Every sealed column: (table, column, the SQL expression giving the row id it is bound to).
SEALED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("members", "chat_id", "id"),
    ("members", "pseudonym", "id"),
    ("members", "profile", "id"),
    ("areas", "name", "id"),
    ("facilities", "name", "id"),
    ("facilities", "address", "id"),
    ("facility_rules", "rules", "id"),
    ("refusals", "note", "id"),
    ("prisoners", "alias", "id"),
    ("prisoners", "identity", "id"),
    ("family_requests", "details", "id"),
    ("needs", "details", "id"),
    ("parcels", "contents", "id"),
    ("parcels", "outcome_note", "id"),
    ("tracked_messages", "target", "id"),
    ("held_notices", "notice", "id"),
    ("audit", "entry", "id"),
    ("callback_tokens", "payload", "lower(hex(token_hash))"),
    ("conversations", "data", "member_id"),
    ("meta", "value", "substr(key, 8)"),  # only rows whose key starts with 'sealed:'
)
# BLOB columns that are keyed hashes or key material, not sealed values.
NOT_SEALED_BLOBS = {("meta", "value"), ("keyring", "wrapped")}


def _row_filter(table: str) -> str:
    return "key LIKE 'sealed:%'" if table == "meta" else "1=1"


# Backup and restore ------------------------------------------------------------------------------


async def backup(store: Store, destination: Path, passphrase: str, *, kdf: KdfParams = DEFAULT_KDF) -> int:
    """A consistent snapshot through SQLite's backup API, sealed whole; returns the file size.

    The snapshot goes to memory, never to a plaintext file on disk.
    """
    await store.db.checkpoint()

    def snapshot() -> bytes:
        source = sqlite3.connect(f"file:{store.db.path}?mode=ro", uri=True)
        target = sqlite3.connect(":memory:")
        try:
            source.backup(target)
            data = bytearray(target.serialize())
            # Header bytes 18-19 say "WAL"; a snapshot has no WAL, so mark it a rollback-journal file.
            # The restored database is switched back to WAL when the bot opens it.
            data[18] = data[19] = 1
            return bytes(data)
        finally:
            source.close()
            target.close()

    data = await asyncio.to_thread(snapshot)
    sealed = await asyncio.to_thread(seal_backup, data, passphrase, kdf)
    temporary = destination.with_name(destination.name + ".part")
    temporary.write_bytes(sealed)
    os.chmod(temporary, 0o600)
    temporary.replace(destination)
    return len(sealed)


class RestoreRefused(Exception):
    """The target is not empty, or the backup is not a sound parcelbot database."""


async def restore(source: Path, database_path: Path, passphrase: str) -> dict[str, int]:
    """Check the backup fully, then write it as the database of an empty data directory."""
    if database_path.exists() or any(database_path.parent.glob(database_path.name + "-*")):
        raise RestoreRefused(f"{database_path.parent} already holds a database; restore needs an empty one")
    data = await asyncio.to_thread(open_backup, source.read_bytes(), passphrase)

    def check() -> None:
        probe = sqlite3.connect(":memory:")
        try:
            probe.deserialize(data)
            if probe.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise RestoreRefused("the backup's database fails its integrity check")
            if not probe.execute("SELECT count(*) FROM keyring").fetchone()[0]:
                raise RestoreRefused("the backup holds no keyring")
        except sqlite3.DatabaseError as error:
            raise RestoreRefused(f"the backup is not a parcelbot database: {error}") from None
        finally:
            probe.close()

    await asyncio.to_thread(check)
    database_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = database_path.with_name(database_path.name + ".restoring")
    _remove_with_sidecars(temporary)  # a WAL left by an attempt killed midway would be replayed onto it
    await asyncio.to_thread(_write_durably, temporary, data)
    try:
        # The keyring inside must open with this passphrase too, before the file takes the database's
        # place: a backup sealed with another passphrase than its database's leaves nothing behind.
        try:
            store = await Store.unlock(temporary, passphrase)
        except WrongPassphrase:
            raise RestoreRefused("the backup opens with this passphrase, but the database inside was locked "
                                 "with another one; nothing was written") from None
        except DatabaseError as error:  # e.g. made by a newer parcelbot
            raise RestoreRefused(f"the backup's database does not open here: {error}; nothing was written") from None
        try:
            async with store.read() as uow:
                counts = await uow.counts()
        finally:
            await store.close()

        def into_one_file() -> None:  # whatever opening wrote (WAL mode, a migration) goes into the file
            conn = sqlite3.connect(temporary)
            try:
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()

        await asyncio.to_thread(into_one_file)
        temporary.replace(database_path)
        _fsync_directory(database_path.parent)  # the rename itself survives a power cut
    finally:
        _remove_with_sidecars(temporary)
    return counts


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _remove_with_sidecars(path: Path) -> None:
    for leftover in (path, *path.parent.glob(path.name + "-*")):
        leftover.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Rotation ---------------------------------------------------------------------------------------


async def rotate_passphrase(store: Store, old_passphrase: str, new_passphrase: str,
                            *, kdf: KdfParams = DEFAULT_KDF) -> None:
    """Re-wrap the same data keys under a key from the new passphrase, in one transaction."""
    salt, params, _ = _read_keyring(Path(store.db.path))
    old_kek = await asyncio.to_thread(derive_kek, old_passphrase, salt, params)
    Keyring.unlock(old_kek, _read_keyring(Path(store.db.path))[2])  # raises WrongPassphrase
    new_salt_bytes = new_salt()
    new_kek = await asyncio.to_thread(derive_kek, new_passphrase, new_salt_bytes, kdf)
    wrapped = store.keyring.rewrap(new_kek)
    async with store.write() as uow:
        await uow.session.run("UPDATE meta SET value = ? WHERE key = 'kdf_salt'", (new_salt_bytes,))
        await uow.session.run("UPDATE meta SET value = ? WHERE key = 'kdf_params'", (kdf.to_json().encode(),))
        await uow.session.run("DELETE FROM keyring")
        await _save_wrapped(uow.session, wrapped, store.clock.now())
    await store.db.checkpoint()


async def _stale_count(store: Store, key_bytes: bytes) -> int:
    total = 0
    async with store.read() as uow:
        for table, column, _ in SEALED_COLUMNS:
            total += await uow.session.value(
                f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND substr({column}, 2, 4) != ?"  # noqa: S608
                f" AND {_row_filter(table)}",
                (key_bytes,),
            )
    return total


@dataclass(frozen=True)
class IndexRotation:
    rows: int  # rows whose keyed hashes were recomputed
    invites_cancelled: int  # unused invites: their codes are known only as hashes, so they cannot move
    buttons_expired: int  # lasting buttons (approval alerts, reminders): their tokens are hashes too


async def rotate_index_key(store: Store, kek: SecretKey) -> IndexRotation:
    """Replace the index key and recompute every keyed hash under the new one, in one transaction.

    Whoever took a copy of the keys (a seized, running server) could otherwise test a guessed
    Telegram id, pseudonym, area or alias against every later copy of the database. Values the bot
    keeps (sealed chat ids, pseudonyms, names, aliases) are hashed again, each stored hash checked
    first; invite codes and button tokens exist only as hashes, so unused invites are cancelled and
    lasting buttons expire. Run it with the bot stopped: a running bot keeps the old key in memory.
    """
    new_keyring, wrapped = store.keyring.with_new_index_key(kek)
    old_id = store.keyring.index_key_id
    async with store.write() as uow:
        await _save_wrapped(uow.session, [wrapped], store.clock.now())
        rows = (await uow.members.reindex(new_keyring) + await uow.areas.reindex(new_keyring)
                + await uow.prisoners.reindex(new_keyring))
        invites = await uow.session.value(
            "SELECT count(*) FROM invites WHERE used_at IS NULL AND expires_at > ?", (to_db(store.clock.now()),))
        await uow.session.run("DELETE FROM invites")
        buttons = await uow.session.run("DELETE FROM callback_tokens")
        await uow.session.run("DELETE FROM keyring WHERE purpose = 'index' AND key_id = ?", (old_id,))
        uow.session.mark_erased()  # the old hashes leave the WAL too
    store.keyring = new_keyring
    return IndexRotation(rows, invites, buttons)


async def rotate_key(store: Store, passphrase: str, progress: Progress | None = None,
                     *, index_rotated: Callable[[IndexRotation], None] | None = None) -> int:
    """Re-seal every field under a new key id; returns how many fields were re-sealed.

    A new rotation first replaces the index key (`rotate_index_key`). Resumable: if fields are still
    under an older seal key (a previous run stopped), no new key is made and the work continues.
    When every field is under the current key, older seal keys are deleted.
    """
    current = store.keyring.current_key_id
    if await _stale_count(store, current.to_bytes(4, "big")) == 0:
        salt, params, wrapped_keys = _read_keyring(Path(store.db.path))
        kek = await asyncio.to_thread(derive_kek, passphrase, salt, params)
        Keyring.unlock(kek, wrapped_keys)  # raises WrongPassphrase before anything changes
        rotation = await rotate_index_key(store, kek)
        if index_rotated is not None:
            index_rotated(rotation)
        new_key = store.keyring.add_seal_key(kek)
        async with store.write() as uow:  # stored before any field is sealed with it
            await _save_wrapped(uow.session, [new_key], store.clock.now())
        current = new_key.key_id
    key_bytes = current.to_bytes(4, "big")
    total = await _stale_count(store, key_bytes)
    done = 0
    for table, column, row_expr in SEALED_COLUMNS:
        while True:
            async with store.write() as uow:
                rows = await uow.session.all(
                    f"SELECT rowid, {row_expr}, {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
                    f" AND substr({column}, 2, 4) != ? AND {_row_filter(table)} LIMIT ?",
                    (key_bytes, BATCH),
                )
                resealed = []
                for rowid, row_id, envelope in rows:
                    try:  # the type tag inside the envelope says text or bytes; keep it as it was
                        value: str | bytes = store.keyring.open_text(envelope, table=table, column=column,
                                                                     row_id=row_id)
                    except OpenFailed:
                        value = store.keyring.open(envelope, table=table, column=column, row_id=row_id)
                    resealed.append((store.keyring.seal(value, table=table, column=column, row_id=row_id), rowid))
                # One call per batch, not per row: each call to SQLite has a fixed cost (a thread hop on aiosqlite).
                await uow.session.run_many(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", resealed)  # noqa: S608
                uow.session.mark_erased()
            done += len(rows)
            if progress:
                progress(done, total)
            if len(rows) < BATCH:
                break
    async with store.write() as uow:
        await uow.session.run("DELETE FROM keyring WHERE purpose = 'seal' AND key_id != ?", (current,))
    return done


# Wipe -------------------------------------------------------------------------------------------


def wipe_files(data_dir: Path) -> list[Path]:
    """Overwrite with random bytes, flush and delete the database, its sidecars and backups.

    On SSDs and copy-on-write file systems an overwrite may not reach the old blocks; the sealing is
    what protects the data there. This removes what is easy to find.
    """
    doomed = [path for path in sorted(data_dir.glob("parcelbot.db*")) + sorted(data_dir.glob("*" + BACKUP_SUFFIX))
              if path.is_file()]
    for path in doomed:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            remaining = size
            while remaining > 0:
                chunk = min(remaining, 1 << 20)
                handle.write(os.urandom(chunk))
                remaining -= chunk
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    return doomed
