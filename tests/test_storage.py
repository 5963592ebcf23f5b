"""The encrypted store on disk: pragmas, migrations, a wrong passphrase, sealed rows, erased bytes."""

from __future__ import annotations

import hashlib

import pytest

from bot.domain import MemberStatus, Role
from storage.crypto import TEST_KDF, OpenFailed, WrongPassphrase
from storage.db import DatabaseError
from storage.store import Store, StoreExists, StoreMissing
from tests.canary import find_canaries
from tests.conftest import PASSPHRASE

CANARY_NAME = "Ёлкина Зоя Canary-4417"


def _snapshot(directory):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.iterdir())}


async def _add_member(store, user_id=5551234567, pseudonym="Quiet Birch 42"):
    async with store.write() as uow:
        return await uow.members.add(role=Role.VOLUNTEER, status=MemberStatus.ACTIVE, telegram_user_id=user_id,
                                     chat_id=user_id, pseudonym=pseudonym, language="ru")


async def test_pragmas_protect_erased_and_committed_data(store):
    conn = store.db.conn
    async def pragma(name):
        return (await conn.execute_fetchall(f"PRAGMA {name}"))[0][0]
    assert await pragma("journal_mode") == "wal"
    assert await pragma("synchronous") == 2  # FULL
    assert await pragma("foreign_keys") == 1
    assert await pragma("secure_delete") == 1
    assert await pragma("auto_vacuum") == 1  # FULL
    assert await pragma("temp_store") == 2  # MEMORY
    assert await store.db.quick_check() == "ok"


async def test_migrations_are_recorded_and_applied_once(config, store, clock):
    async with store.read() as uow:
        first = await uow.session.all("SELECT version, name FROM schema_migrations")
    await store.close()
    reopened = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    async with reopened.read() as uow:
        assert await uow.session.all("SELECT version, name FROM schema_migrations") == first
    await reopened.close()
    assert first[0][0] == 1


async def test_a_database_from_a_newer_version_is_refused(config, store, clock):
    async with store.write() as uow:
        await uow.session.run("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    await store.close()
    with pytest.raises(DatabaseError, match="newer"):
        await Store.unlock(config.database_path, PASSPHRASE, clock=clock)


async def test_wrong_passphrase_is_refused_and_touches_nothing(config, store, clock):
    await _add_member(store)
    await store.close()
    before = _snapshot(config.data_dir)
    with pytest.raises(WrongPassphrase):
        await Store.unlock(config.database_path, "not the passphrase", clock=clock)
    assert _snapshot(config.data_dir) == before


async def test_init_refuses_an_existing_database_and_unlock_a_missing_one(config, store, clock):
    with pytest.raises(StoreExists):
        await Store.create(config.database_path, PASSPHRASE, kdf=TEST_KDF, clock=clock)
    with pytest.raises(StoreMissing):
        await Store.unlock(config.data_dir / "nothing.db", PASSPHRASE, clock=clock)


async def test_member_rows_hold_no_readable_identity(store):
    member = await _add_member(store, user_id=5557654321, pseudonym="Canary Owl 77")
    async with store.read() as uow:
        assert (await uow.members.by_telegram(5557654321)).pseudonym == "Canary Owl 77"
        assert (await uow.members.get(member.id)).chat_id == 5557654321
    await store.db.checkpoint()
    assert find_canaries(store.db.files, ["5557654321", "Canary Owl 77"]) == []


async def test_a_sealed_value_moved_to_another_row_does_not_open(store):
    first = await _add_member(store, 5551000001, "Calm Heron 11")
    second = await _add_member(store, 5551000002, "Bold Lark 12")
    async with store.write() as uow:
        await uow.session.run(
            "UPDATE members SET pseudonym = (SELECT pseudonym FROM members WHERE id = ?) WHERE id = ?",
            (first.id, second.id),
        )
    async with store.read() as uow:
        with pytest.raises(OpenFailed):
            await uow.members.get(second.id)
        assert (await uow.members.get(first.id)).pseudonym == "Calm Heron 11"


async def test_a_sealed_value_moved_to_another_column_does_not_open(store):
    member = await _add_member(store)
    async with store.write() as uow:
        await uow.session.run("UPDATE members SET chat_id = pseudonym WHERE id = ?", (member.id,))
    async with store.read() as uow:
        with pytest.raises(OpenFailed):
            await uow.members.get(member.id)


async def test_sealed_meta_value_is_not_on_disk(store):
    async with store.write() as uow:
        await uow.meta.set_sealed("probe", CANARY_NAME)
    async with store.read() as uow:
        assert await uow.meta.get_sealed("probe") == CANARY_NAME
    await store.db.checkpoint()
    assert find_canaries(store.db.files, [CANARY_NAME, "Ёлкина"]) == []


async def test_a_deleted_canary_is_gone_from_every_file_after_the_checkpoint(store):
    """secure_delete zeroes the page; the TRUNCATE checkpoint removes the old copy from the WAL."""
    async with store.write() as uow:
        await uow.session.run("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT)")
        await uow.session.run("INSERT INTO scratch (note) VALUES (?)", (CANARY_NAME * 20,))
    assert find_canaries(store.db.files, [CANARY_NAME]) != []  # the probe really was on disk
    async with store.write() as uow:
        await uow.session.run("DELETE FROM scratch")
    assert find_canaries(store.db.files, [CANARY_NAME]) == []


async def test_a_failed_use_case_writes_nothing(store):
    with pytest.raises(RuntimeError):
        async with store.write() as uow:
            await _add_member_in(uow)
            raise RuntimeError("boom")
    async with store.read() as uow:
        assert await uow.members.count() == 0


async def _add_member_in(uow):
    await uow.members.add(role=Role.FAMILY, status=MemberStatus.ACTIVE, telegram_user_id=5550000009,
                          chat_id=5550000009, pseudonym="Early Finch 19", language="be")


async def test_a_nested_session_fails_loudly_instead_of_deadlocking(store):
    with pytest.raises(DatabaseError, match="nested"):
        async with store.write():
            async with store.read():
                pass
    async with store.read() as uow:  # the store is still usable afterwards
        assert await uow.members.count() == 0


async def test_a_single_statement_write_is_atomic_and_refuses_a_second_statement(store):
    from storage.db import DatabaseError

    async with store.write_one() as uow:
        await uow.session.run("INSERT INTO member_counts (event, count) VALUES ('one', 1)")
    with pytest.raises(DatabaseError, match="second statement"):
        async with store.write_one() as uow:
            await uow.session.run("INSERT INTO member_counts (event, count) VALUES ('two', 1)")
            await uow.session.run("INSERT INTO member_counts (event, count) VALUES ('three', 1)")
    # A multi-row statement that fails part-way writes none of its rows.
    with pytest.raises(Exception, match="UNIQUE"):
        async with store.write_one() as uow:
            await uow.session.run("INSERT INTO member_counts (event, count) VALUES ('four', 1), ('one', 2)")
    async with store.read() as uow:
        rows = await uow.session.all("SELECT event FROM member_counts ORDER BY event")
    assert [row[0] for row in rows] == ["one", "two"]


def test_database_timestamps_are_utc_to_the_second_and_round_trip():
    from datetime import UTC, datetime, timedelta, timezone

    from bot.clock import from_db, to_db

    minsk = datetime(2026, 11, 26, 3, 38, 13, 999_999, tzinfo=timezone(timedelta(hours=3)))
    assert to_db(minsk) == "2026-11-26T00:38:13Z"
    assert from_db(to_db(minsk)) == datetime(2026, 11, 26, 0, 38, 13, tzinfo=UTC)
    assert to_db(datetime(999, 1, 1, tzinfo=UTC)) < to_db(datetime(2026, 1, 1, tzinfo=UTC))  # sortable as text
