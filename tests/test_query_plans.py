"""Every query a volunteer's or a family's update runs finds its rows by index, never by reading a table.

At the benchmark's scale (2,000 prisoners, 6,000 needs) one full scan of `parcels` per /runs cost more
than the rest of the update; `python -m bench.steps --plans` found them. This test keeps them found:
it records the SQL of a whole week's journey and asks SQLite for each statement's plan.
"""

from __future__ import annotations

import pytest

from storage.db import Session
from storage.migrations import MIGRATIONS
from storage.store import Store
from tests.conftest import PASSPHRASE, TEST_KDF
from tests.test_journey_week import publish_and_claim

# Reference tables of tens of rows (facilities, areas), read whole on purpose.
SMALL_TABLES = {"facilities", "areas", "schema_migrations", "meta", "keyring"}


@pytest.fixture
def recorded(monkeypatch) -> list[str]:
    """Every statement run through a Session, in order (set() of it gives the distinct ones)."""
    statements: list[str] = []
    for name in ("all", "one", "run", "run_many"):
        original = getattr(Session, name)

        async def record(self, sql, *args, _original=original, **kwargs):
            statements.append(" ".join(sql.split()))
            return await _original(self, sql, *args, **kwargs)

        monkeypatch.setattr(Session, name, record)
    return statements


async def _scans(store: Store, statements: list[str]) -> list[str]:
    found = []
    async with store.read() as uow:
        for sql in sorted(set(statements)):
            if not sql.upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
                continue
            plan = await uow.session.all(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))
            for row in plan:
                detail = row[3]
                if detail.startswith("SCAN") and "json_each" not in detail and "CONSTANT ROW" not in detail:
                    table = detail.split()[1]
                    if table not in SMALL_TABLES:
                        found.append(f"{detail}  <-  {sql[:160]}")
    return found


async def test_the_journeys_of_a_week_read_by_index(bot, recorded):
    coordinator, first, second, code, family = await publish_and_claim(bot, family=True)
    recorded.clear()  # planning and publishing may read whole tables; per-update work may not
    for person in (first, second):
        await bot.send(person, "/runs")
        await bot.send(person, "/myruns")
        await bot.press_label(person, "Details")
        await bot.send(person, "/myruns")
        await bot.press_label(person, "Confirm")
    await bot.send(family, "/status")
    await bot.send(coordinator, "/board")
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    assert recorded, "nothing was recorded"
    assert await _scans(bot.store, recorded) == []


async def test_a_database_from_before_the_indexes_gets_them_when_opened(config, clock, monkeypatch):
    import storage.db

    config.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(storage.db, "MIGRATIONS", MIGRATIONS[:1])
    old = await Store.create(config.database_path, PASSPHRASE, kdf=TEST_KDF, clock=clock)
    async with old.read() as uow:
        assert await uow.session.value("SELECT count(*) FROM sqlite_master WHERE name = 'parcels_run'") == 0
    await old.close()
    monkeypatch.setattr(storage.db, "MIGRATIONS", MIGRATIONS)
    store = await Store.unlock(config.database_path, PASSPHRASE, clock=clock)
    try:
        async with store.read() as uow:
            versions = [row[0] for row in await uow.session.all("SELECT version FROM schema_migrations")]
            assert versions == [version for version, _, _ in MIGRATIONS]
            assert await uow.session.value("SELECT count(*) FROM sqlite_master WHERE name = 'parcels_run'") == 1
    finally:
        await store.close()


def test_small_tables_are_small():
    # The allowance above is only for reference tables; people, parcels and needs are never in it.
    assert not SMALL_TABLES & {"members", "parcels", "needs", "prisoners", "runs", "assignments", "tracked_messages",
                               "family_requests", "callback_tokens", "scheduled", "audit"}


async def _statements_for(tmp_path, scale, recorded) -> dict[str, int]:
    """How many statements /board, /runs and /myruns run on a dataset of this scale."""
    from bench.dataset import PASSPHRASE as BENCH_PASSPHRASE
    from bench.dataset import TIMEZONE, build
    from bot.services import board as board_service
    from bot.services import runs as run_service

    data = await build(tmp_path / f"{scale.prisoners}.db", scale)
    store = await Store.unlock(data.path, BENCH_PASSPHRASE)
    try:
        async with store.read() as uow:
            coordinator = await uow.members.by_telegram(data.coordinators[0])
            volunteer = await uow.members.by_telegram(data.reporters[0])
        counts = {}
        for name, call in (("board", lambda: board_service.board(store, coordinator, store.clock.now(), TIMEZONE)),
                           ("runs", lambda: run_service.open_runs(store, volunteer)),
                           ("myruns", lambda: run_service.my_runs(store, volunteer))):
            recorded.clear()
            result = await call()
            counts[name] = len(recorded)
            assert result is not None
        return counts
    finally:
        await store.close()


async def test_views_run_the_same_number_of_queries_for_few_runs_and_for_many(tmp_path, recorded):
    from bench.dataset import Scale

    small = Scale(facilities=4, prisoners=40, needs=80, volunteers=20, families=4, coordinators=2, areas=2,
                  runs_in_progress=2)
    large = Scale(facilities=12, prisoners=300, needs=900, volunteers=60, families=4, coordinators=2, areas=2,
                  runs_in_progress=12)
    few = await _statements_for(tmp_path, small, recorded)
    many = await _statements_for(tmp_path, large, recorded)
    assert few == many, f"queries grow with the data: {few} -> {many}"


async def test_alias_views_never_open_a_name_or_a_parcels_contents(tmp_path, monkeypatch):
    """/needs, a report's parcel list and recording an outcome show aliases only, so they decrypt no
    names and no contents: fewer secrets in memory, and faster."""
    from bench.dataset import PASSPHRASE as BENCH_PASSPHRASE
    from bench.dataset import Scale, build
    from bot.domain import ParcelOutcome
    from bot.services import needs as need_service
    from bot.services import outcomes
    from storage import crypto

    data = await build(tmp_path / "small.db", Scale(facilities=4, prisoners=40, needs=80, volunteers=20, families=4,
                                                   coordinators=2, areas=2, runs_in_progress=2))
    opened: list[tuple[str, str]] = []
    original = crypto.Keyring._open_tagged

    def record(self, envelope, table, column, row_id):
        opened.append((table, column))
        return original(self, envelope, table, column, row_id)

    store = await Store.unlock(data.path, BENCH_PASSPHRASE)
    try:
        async with store.read() as uow:
            coordinator = await uow.members.by_telegram(data.coordinators[0])
            reporter = await uow.members.by_telegram(data.reporters[0])
            (assignment,) = await uow.runs.live_assignments_of_member(reporter.id)
        monkeypatch.setattr(crypto.Keyring, "_open_tagged", record)
        lines = await need_service.open_needs(store, coordinator)
        view = await outcomes.report_view(store, reporter.id, assignment.id)
        await outcomes.record(store, reporter.id, assignment.id, view.parcels[0].parcel_id, ParcelOutcome.DELIVERED,
                              today=store.clock.now().date())
    finally:
        await store.close()
    assert lines and view.parcels and all(line.alias for line in view.parcels)
    assert ("prisoners", "identity") not in opened
    assert ("parcels", "contents") not in opened
