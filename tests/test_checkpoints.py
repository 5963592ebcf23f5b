"""Checkpoints run off the event loop: a COMMIT never copies the WAL back itself, a grown WAL is copied
back in the background by a worker thread, and an erasure still truncates the WAL before it returns."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from storage import db as db_module
from storage.crypto import TEST_KDF
from storage.db import ENGINES
from storage.store import Store
from tests.canary import find_canaries
from tests.conftest import PASSPHRASE

CANARY = "Вераніка Канарэйкава 1987"


@pytest.fixture(params=ENGINES)
async def store(request, config, clock):
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.create(config.database_path, PASSPHRASE, kdf=TEST_KDF, clock=clock, engine=request.param)
    async with store.write() as uow:
        await uow.session.run("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT)")
    yield store
    await store.close()


def _wal_size(store) -> int:
    wal = store.db.files[1]
    return wal.stat().st_size if wal.exists() else 0


async def _fill(store, commits: int, size: int = 8192) -> None:
    """Commits that each add `size` bytes of noise (incompressible, so each is real pages in the WAL)."""
    for _ in range(commits):
        async with store.write() as uow:
            await uow.session.run("INSERT INTO scratch (note) VALUES (?)", (os.urandom(size).hex(),))


async def test_the_loops_connections_never_checkpoint_in_a_commit(store):
    async with store.read() as uow:
        assert await uow.session.value("PRAGMA wal_autocheckpoint") == 0
    async with store.write() as uow:
        assert await uow.session.value("PRAGMA wal_autocheckpoint") == 0
    # Far past SQLite's default of 1,000 pages, with the Checkpointer held back: the WAL keeps
    # everything, which it would not if a COMMIT had checkpointed (and restarted) it.
    store.db._checkpointer._commits = -10_000
    before = _wal_size(store)
    await _fill(store, 700)
    assert _wal_size(store) - before > db_module.WAL_CHECKPOINT_BYTES


async def test_a_grown_wal_is_copied_back_in_a_worker_thread(store, monkeypatch):
    checkpointer = store.db._checkpointer
    threads: list[int] = []
    checkpoint = checkpointer._checkpoint

    def recorded(mode: str):
        threads.append(threading.get_ident())
        return checkpoint(mode)

    monkeypatch.setattr(checkpointer, "_checkpoint", recorded)
    await _fill(store, 700)
    if checkpointer._background is not None:
        await checkpointer._background
    assert threads, "no background checkpoint ran although the WAL grew past the mark"
    assert threading.get_ident() not in threads
    # It copied the WAL back: after it, new writes start the WAL over and the file stays near the mark.
    await _fill(store, 50)
    assert _wal_size(store) <= db_module.WAL_CHECKPOINT_BYTES + 50 * 3 * 8192


async def test_a_small_wal_is_left_alone(store):
    checkpointer = store.db._checkpointer
    runs = checkpointer.runs  # creating the store checkpointed once
    await _fill(store, 150, size=16)
    assert checkpointer._background is None
    assert checkpointer.runs == runs


async def test_an_erasure_truncates_the_wal_in_a_worker_thread_before_it_returns(store, monkeypatch):
    checkpointer = store.db._checkpointer
    modes: list[tuple[str, int]] = []
    checkpoint = checkpointer._checkpoint

    def recorded(mode: str):
        modes.append((mode, threading.get_ident()))
        return checkpoint(mode)

    monkeypatch.setattr(checkpointer, "_checkpoint", recorded)
    async with store.write() as uow:
        await uow.session.run("INSERT INTO scratch (note) VALUES (?)", (CANARY,))
    async with store.write() as uow:
        await uow.session.run("DELETE FROM scratch WHERE note = ?", (CANARY,))
    assert [mode for mode, _ in modes] == ["TRUNCATE"]
    assert modes[0][1] != threading.get_ident()
    assert _wal_size(store) == 0
    assert not find_canaries(store.db.files, [CANARY])


async def test_a_cancelled_erasure_keeps_its_locks_until_the_checkpoint_thread_is_done(store, monkeypatch):
    checkpointer = store.db._checkpointer
    started, finished = threading.Event(), threading.Event()
    checkpoint = checkpointer._checkpoint

    def slow(mode: str):
        started.set()
        time.sleep(0.3)  # in the worker thread: a slow disk
        result = checkpoint(mode)
        finished.set()
        return result

    monkeypatch.setattr(checkpointer, "_checkpoint", slow)
    async with store.write() as uow:
        await uow.session.run("INSERT INTO scratch (note) VALUES (?)", (CANARY,))

    async def erase() -> None:
        async with store.write() as uow:
            await uow.session.run("DELETE FROM scratch WHERE note = ?", (CANARY,))

    erasure = asyncio.create_task(erase())
    assert await asyncio.to_thread(started.wait, 10)
    erasure.cancel()
    with pytest.raises(asyncio.CancelledError):
        await erasure
    assert finished.is_set(), "the locks were let go while the checkpoint thread still ran"
    async with store.write() as uow:  # and they are free again
        assert await uow.session.value("SELECT count(*) FROM scratch") == 0
