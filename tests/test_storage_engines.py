"""Both ways of calling SQLite ("inline" on the loop's thread, "thread" through aiosqlite) keep the same
promises: atomic claims under a crowd, views on a snapshot beside writes, erasure that leaves no copy,
no nested sessions, read-only views."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.config import ConfigError, load_config
from bot.services import claims
from bot.services.errors import RunFull
from storage.crypto import TEST_KDF
from storage.db import ENGINES, DatabaseError
from storage.store import Store
from tests.canary import find_canaries
from tests.conftest import PASSPHRASE
from tests.test_claims import add_members, add_run

CANARY = "Выдумкіна Ганна Пятроўна"


@pytest.fixture(params=ENGINES)
async def engine_store(request, config, clock):
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.create(config.database_path, PASSPHRASE, kdf=TEST_KDF, clock=clock, engine=request.param)
    assert store.db.engine == request.param
    yield store
    await store.close()


async def _scratch(store) -> None:
    async with store.write() as uow:
        await uow.session.run("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT)")


async def test_a_crowd_of_claims_takes_exactly_the_places_there_are(engine_store):
    run_id = await add_run(engine_store, places=2)
    members = await add_members(engine_store, 30)
    results = await asyncio.gather(*(claims.claim(engine_store, run_id, member, cap=2, trial=False, grace_hours=4)
                                     for member in members), return_exceptions=True)
    assert sum(not isinstance(result, BaseException) for result in results) == 2
    assert all(isinstance(result, RunFull) for result in results if isinstance(result, BaseException))


async def test_a_view_reads_one_snapshot_while_a_write_commits_beside_it(engine_store):
    await _scratch(engine_store)
    seen: list[int] = []
    first_read = asyncio.Event()

    async def view() -> None:
        async with engine_store.read() as uow:
            seen.append(await uow.session.value("SELECT count(*) FROM scratch"))
            first_read.set()
            await asyncio.sleep(0.05)  # the write below commits meanwhile
            seen.append(await uow.session.value("SELECT count(*) FROM scratch"))

    async def write() -> None:
        await first_read.wait()
        async with engine_store.write() as uow:
            await uow.session.run("INSERT INTO scratch (note) VALUES ('x')")

    await asyncio.wait_for(asyncio.gather(view(), write()), 5)
    assert seen == [0, 0]  # the same snapshot to the end of the view
    async with engine_store.read() as uow:
        assert await uow.session.value("SELECT count(*) FROM scratch") == 1  # a new view sees the write


async def test_an_erasure_waits_for_open_views_and_leaves_no_copy_in_any_file(engine_store):
    await _scratch(engine_store)
    async with engine_store.write() as uow:
        await uow.session.run("INSERT INTO scratch (note) VALUES (?)", (CANARY * 20,))
    assert find_canaries(engine_store.db.files, [CANARY]) != []  # the probe really is on disk
    view_open = asyncio.Event()

    async def view() -> None:
        async with engine_store.read() as uow:
            await uow.session.value("SELECT count(*) FROM scratch")
            view_open.set()
            await asyncio.sleep(0.05)  # the erasure's checkpoint must wait for this snapshot to end

    async def erase() -> None:
        await view_open.wait()
        async with engine_store.write() as uow:
            await uow.session.run("DELETE FROM scratch")

    await asyncio.wait_for(asyncio.gather(view(), erase()), 5)
    assert find_canaries(engine_store.db.files, [CANARY]) == []


async def test_views_cannot_write_and_sessions_do_not_nest(engine_store):
    await _scratch(engine_store)
    with pytest.raises(sqlite3.OperationalError):
        async with engine_store.read() as uow:
            await uow.session.run("INSERT INTO scratch (note) VALUES ('x')")
    with pytest.raises(DatabaseError):
        async with engine_store.write() as uow:
            async with engine_store.read():
                pass
    async with engine_store.read() as uow:
        assert await uow.session.value("SELECT count(*) FROM scratch") == 0  # nothing half-written


async def test_a_single_statement_session_refuses_a_second(engine_store):
    await _scratch(engine_store)
    with pytest.raises(DatabaseError):
        async with engine_store.write_one() as uow:
            await uow.session.run("INSERT INTO scratch (note) VALUES ('a')")
            await uow.session.run("INSERT INTO scratch (note) VALUES ('b')")


async def test_the_engine_is_a_checked_setting(tmp_path):
    path = tmp_path / "parcelbot.toml"
    path.write_text('[storage]\ndatabase_engine = "thread"\n', encoding="utf-8")
    assert load_config(path, environ={}).database_engine == "thread"
    assert load_config(None, environ={}).database_engine == "inline"
    path.write_text('[storage]\ndatabase_engine = "fast"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="storage.database_engine"):
        load_config(path, environ={})
