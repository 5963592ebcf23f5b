"""Operator work: a restore drill, passphrase and key rotation (also after kill -9), and wipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain import MemberStatus, PrisonerStatus, Role
from storage import maintenance
from storage.crypto import TEST_KDF, Keyring, WrongPassphrase
from storage.migrations import MIGRATIONS
from storage.repositories.base import IndexMismatch
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


async def test_a_backup_sealed_with_another_passphrase_than_its_database_leaves_nothing_behind(store, tmp_path):
    """Older CLIs asked twice and could seal with a typo: the backup opens, its keyring does not."""
    backup_file = tmp_path / "typo.pbbackup"
    await maintenance.backup(store, backup_file, "a typo in the second answer", kdf=TEST_KDF)
    target = tmp_path / "new-machine" / "parcelbot.db"
    with pytest.raises(maintenance.RestoreRefused, match="locked with another one"):
        await maintenance.restore(backup_file, target, "a typo in the second answer")
    assert list(target.parent.iterdir()) == [], "no database, no half-restored file, no sidecar"


async def test_a_cut_off_backup_and_one_from_a_newer_parcelbot_are_refused_with_nothing_written(store, tmp_path):
    backup_file = tmp_path / "b.pbbackup"
    await maintenance.backup(store, backup_file, PASSPHRASE, kdf=TEST_KDF)
    whole = backup_file.read_bytes()
    cut = tmp_path / "cut.pbbackup"
    for length in (len(whole) // 2, 90, 75, 62):  # in the data, before a whole tag, in the nonce, in the salt
        cut.write_bytes(whole[:length])
        with pytest.raises(WrongPassphrase):
            await maintenance.restore(cut, tmp_path / "x" / "parcelbot.db", PASSPHRASE)
    async with store.write() as uow:
        await uow.session.run("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    await maintenance.backup(store, backup_file, PASSPHRASE, kdf=TEST_KDF)
    target = tmp_path / "y" / "parcelbot.db"
    with pytest.raises(maintenance.RestoreRefused, match="does not open here"):
        await maintenance.restore(backup_file, target, PASSPHRASE)
    assert list(target.parent.iterdir()) == []


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


async def _fill_lookups(store, clock) -> tuple[list[int], str]:
    """Members, an area, a prisoner, an unused invite and a lasting button: everything found by a keyed hash."""
    telegram_ids = [5550200000 + number for number in range(5)]
    async with store.write() as uow:
        members = [await uow.members.add(role=Role.VOLUNTEER, status=MemberStatus.ACTIVE, telegram_user_id=user_id,
                                         chat_id=user_id, pseudonym=f"Ціхая Сава {user_id % 100}", language="be")
                   for user_id in telegram_ids]
        await uow.areas.add("Паўночны раён")
        await uow.prisoners.add(alias="Рамонак-7", full_name="Ірына Праверачная", birth_year=1979, facility_id=None,
                                status=PrisonerStatus.PRE_TRIAL)
        await uow.invites.add("invite-code-kept-only-as-hash", Role.VOLUNTEER, clock.now() + timedelta(days=2),
                              created_by=members[0].id)
        token = await uow.tokens.issue(members[0].id, "runs.approve", {"assignment": 1},
                                       expires_at=clock.now() + timedelta(days=1), single_use=True)
    return telegram_ids, token


async def test_rotate_key_replaces_the_index_key_and_every_keyed_hash(store, config, clock):
    telegram_ids, token = await _fill_lookups(store, clock)
    old = store.keyring
    old_hashes = [old.blind_index("telegram-user", str(user_id)) for user_id in telegram_ids]
    announced = []
    await maintenance.rotate_key(store, PASSPHRASE, index_rotated=announced.append)
    assert announced == [maintenance.IndexRotation(rows=5 + 1 + 1, invites_cancelled=1, buttons_expired=1)]
    await store.close()

    reopened = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    async with reopened.read() as uow:
        assert await uow.session.all("SELECT purpose, key_id FROM keyring WHERE purpose = 'index'") == [("index", 2)]
        for user_id in telegram_ids:  # everyone is still recognised, under the new key only
            assert (await uow.members.by_telegram(user_id)).chat_id == user_id
        assert await uow.members.pseudonym_taken("ціхая сава 0")
        assert (await uow.areas.by_name("паўночны раён")) is not None
        assert (await uow.prisoners.search_alias("Рамонак-7")) is not None
        # The seized copy's index key finds nobody any more.
        for stale in old_hashes:
            assert await uow.session.value("SELECT count(*) FROM members WHERE telegram_index = ?", (stale,)) == 0
        assert await uow.invites.count() == 0
        assert await uow.session.value("SELECT count(*) FROM callback_tokens") == 0
    # ... nor in any file: the old hashes left the WAL with the checkpoint.
    files = [path for path in reopened.db.files if path.exists()]
    assert not any(stale in path.read_bytes() for path in files for stale in old_hashes)
    await reopened.close()


async def test_an_index_hash_that_does_not_match_its_value_stops_the_rotation_unchanged(store, config, clock):
    telegram_ids, _ = await _fill_lookups(store, clock)
    async with store.write() as uow:
        await uow.session.run("UPDATE members SET telegram_index = ? WHERE telegram_index = ?",
                              (os.urandom(32), uow.members.telegram_index(telegram_ids[3])))
    with pytest.raises(IndexMismatch):
        await maintenance.rotate_key(store, PASSPHRASE)
    async with store.read() as uow:  # rolled back whole: old key, old hashes, invites and buttons kept
        assert await uow.session.all("SELECT key_id FROM keyring WHERE purpose = 'index'") == [(1,)]
        assert (await uow.members.by_telegram(telegram_ids[0])) is not None
        assert await uow.invites.count() == 1
    await store.close()
    reopened = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    async with reopened.read() as uow:
        assert (await uow.members.by_telegram(telegram_ids[0])) is not None
    await reopened.close()
