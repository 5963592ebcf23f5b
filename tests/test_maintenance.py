"""Operator work: a restore drill, passphrase and key rotation (also after kill -9), and wipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.domain import MemberStatus, Role
from storage import maintenance
from storage.crypto import TEST_KDF, Keyring, WrongPassphrase
from storage.migrations import MIGRATIONS
from storage.store import Store
from tests.canary import find_canaries
from tests.conftest import PASSPHRASE

CANARIES = ["Ядзвіга Канарэйка", "Zelda Canary-5521"]
ROOT = Path(__file__).resolve().parents[1]


async def _fill(store, members=30):
    async with store.write() as uow:
        await uow.meta.set_sealed("probe", CANARIES[0])
        await uow.areas.add(CANARIES[1])
        for number in range(members):
            await uow.members.add(role=Role.VOLUNTEER, status=MemberStatus.ACTIVE, telegram_user_id=5550100000 + number,
                                  chat_id=5550100000 + number, pseudonym=f"Calm Otter {number}", language="ru")
        await uow.conversations.put((await uow.members.by_telegram(5550100000)).id, "request", "name",
                                    {"name": CANARIES[0]})
        await uow.audit.add("probe", actor_id=None, subject=CANARIES[1])


async def _everything_opens(store) -> int:
    opened = 0
    async with store.read() as uow:
        for table, column, row_expr in maintenance.SEALED_COLUMNS:
            rows = await uow.session.all(
                f"SELECT {row_expr}, {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
                f" AND {maintenance._row_filter(table)}"
            )
            for row_id, envelope in rows:
                try:
                    store.keyring.open_text(envelope, table=table, column=column, row_id=row_id)
                except Exception:  # noqa: BLE001
                    store.keyring.open(envelope, table=table, column=column, row_id=row_id)
                opened += 1
    return opened


async def test_restore_drill(store, config, tmp_path, clock):
    await _fill(store)
    async with store.read() as uow:
        before = await uow.counts()
    backup_file = tmp_path / "off-site" / "week.pbbackup"
    backup_file.parent.mkdir()
    await maintenance.backup(store, backup_file, PASSPHRASE, kdf=TEST_KDF)
    assert find_canaries([backup_file], CANARIES + ["Calm Otter 7", "5550100007"]) == []

    target = tmp_path / "new-machine" / "parcelbot.db"
    counts = await maintenance.restore(backup_file, target, PASSPHRASE)
    assert counts == before
    restored = await Store.unlock(target, PASSPHRASE, clock=clock)
    async with restored.read() as uow:
        assert await uow.meta.get_sealed("probe") == CANARIES[0]
    await restored.close()

    with pytest.raises(maintenance.RestoreRefused):
        await maintenance.restore(backup_file, target, PASSPHRASE)  # not an empty directory any more
    with pytest.raises(WrongPassphrase):
        await maintenance.restore(backup_file, tmp_path / "elsewhere" / "parcelbot.db", "wrong passphrase")


async def test_a_tampered_backup_is_refused(store, tmp_path):
    backup_file = tmp_path / "b.pbbackup"
    await maintenance.backup(store, backup_file, PASSPHRASE, kdf=TEST_KDF)
    data = bytearray(backup_file.read_bytes())
    data[-40] ^= 1
    backup_file.write_bytes(bytes(data))
    with pytest.raises(WrongPassphrase):
        await maintenance.restore(backup_file, tmp_path / "x" / "parcelbot.db", PASSPHRASE)


async def test_rotate_passphrase(store, config, clock):
    await _fill(store, members=3)
    await maintenance.rotate_passphrase(store, PASSPHRASE, "a brand new passphrase", kdf=TEST_KDF)
    await store.close()
    with pytest.raises(WrongPassphrase):
        await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    reopened = await Store.unlock(config.database_path, "a brand new passphrase", clock=clock)
    assert await _everything_opens(reopened) > 0
    await reopened.close()


async def test_rotate_key_reseals_every_field_and_retires_the_old_key(store, config, clock):
    await _fill(store)
    count = await _everything_opens(store)
    resealed = await maintenance.rotate_key(store, PASSPHRASE)
    assert resealed == count
    async with store.read() as uow:
        keys = await uow.session.all("SELECT key_id FROM keyring WHERE purpose = 'seal'")
        assert keys == [(2,)]
    await store.close()
    reopened = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    assert await _everything_opens(reopened) == count
    async with reopened.read() as uow:
        for table, column, _ in maintenance.SEALED_COLUMNS:
            rows = await uow.session.all(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
                                         f" AND {maintenance._row_filter(table)}")
            assert all(Keyring.key_id_of(row[0]) == 2 for row in rows), table
    await reopened.close()


async def test_rotate_key_survives_kill_9_and_resumes(store, config, clock):
    await _fill(store, members=40)
    count = await _everything_opens(store)
    await store.close()
    script = textwrap.dedent(f"""
        import asyncio, os, signal
        from storage import maintenance
        from storage.store import Store
        maintenance.BATCH = 7
        async def main():
            store = await Store.unlock({str(config.database_path)!r}, {PASSPHRASE!r})
            def progress(done, total):
                if done >= 21:
                    os.kill(os.getpid(), signal.SIGKILL)
            await maintenance.rotate_key(store, {PASSPHRASE!r}, progress)
        asyncio.run(main())
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr
    resumed = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    assert await _everything_opens(resumed) == count  # half old key, half new: all readable
    assert 0 < await maintenance.rotate_key(resumed, PASSPHRASE) < count  # resumed, not restarted
    async with resumed.read() as uow:
        assert await uow.session.all("SELECT key_id FROM keyring WHERE purpose = 'seal'") == [(2,)]
    assert await resumed.db.integrity_check() == "ok"
    await resumed.close()


def test_every_blob_column_is_sealed_or_a_keyed_hash():
    import sqlite3

    conn = sqlite3.connect(":memory:")
    for _, _, statements in MIGRATIONS:
        for statement in statements:
            conn.execute(statement)
    sealed = {(table, column) for table, column, _ in maintenance.SEALED_COLUMNS}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for _, column, kind, *_ in conn.execute(f"PRAGMA table_info({table})"):
            if kind.upper() != "BLOB" or (table, column) in maintenance.NOT_SEALED_BLOBS:
                continue
            if column.endswith(("_index", "_hash")):
                continue
            assert (table, column) in sealed, f"{table}.{column} is a BLOB but not in SEALED_COLUMNS"


async def test_wipe_overwrites_and_deletes_database_and_backups(store, config, tmp_path):
    await _fill(store, members=2)
    await maintenance.backup(store, config.data_dir / "last.pbbackup", PASSPHRASE, kdf=TEST_KDF)
    await store.close()
    (config.data_dir / "notes.txt").write_text("keep me")
    removed = maintenance.wipe_files(config.data_dir)
    assert {path.name for path in removed} >= {"parcelbot.db", "last.pbbackup"}
    assert sorted(os.listdir(config.data_dir)) == ["notes.txt"]


def test_cli_backup_restore_rotate_and_wipe(tmp_path):
    env = {**os.environ, "PARCELBOT_PASSPHRASE": PASSPHRASE, "PARCELBOT_KDF_COST": "10",
           "PARCELBOT_DATA_DIR": str(tmp_path / "data")}

    def cli(*args, **extra):
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env={**env, **extra},
                              capture_output=True, text=True, timeout=60, check=False)

    assert cli("init").returncode == 0
    assert cli("invite", "--role", "coordinator").returncode == 0
    backup_file = tmp_path / "week.pbbackup"
    assert cli("backup", str(backup_file)).returncode == 0
    restored = cli("restore", str(backup_file), PARCELBOT_DATA_DIR=str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr
    assert "invites 1" in restored.stdout
    assert cli("restore", str(backup_file)).returncode == 5  # the live directory is not empty
    assert cli("rotate-key").returncode == 0
    assert cli("rotate-passphrase", PARCELBOT_NEW_PASSPHRASE="another long passphrase").returncode == 0
    assert cli("check").returncode == 3
    assert cli("check", PARCELBOT_PASSPHRASE="another long passphrase").returncode == 0
    assert cli("wipe").returncode == 5  # no confirmation, no wipe
    assert cli("wipe", "--confirm", "WIPE").returncode == 0
    assert not (tmp_path / "data" / "parcelbot.db").exists()
