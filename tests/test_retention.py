"""Retention: finished runs, closed requests, stale registrations and old audit entries are erased
on schedule, counts remain, and the erased canaries are in no database file afterwards."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.clock import to_db
from bot.domain import Role
from schedules import jobs
from storage.repositories.base import new_id
from tests.canary import find_canaries

CANARIES = ["Канарэйка Ганна Canary-8812", "Outcome note Canary-4470", "Заява Canary-3301"]


async def _finished_run(bot, member_id, days_ago):
    now = bot.clock.now()
    keyring = bot.store.keyring
    facility_id, run_id, parcel_id, prisoner_id = new_id(), new_id(), new_id(), new_id()
    start = now - timedelta(days=days_ago)
    async with bot.store.write() as uow:
        await uow.session.run(
            "INSERT INTO facilities (id, kind, name, address, created_at) VALUES (?, 'colony', ?, ?, ?)",
            (facility_id, b"-", b"-", to_db(now)))
        await uow.session.run(
            "INSERT INTO prisoners (id, alias, alias_index, identity, facility_id, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'sentenced', ?)",
            (prisoner_id, b"-", new_id().to_bytes(8, "big"), b"-", facility_id, to_db(now)))
        await uow.session.run(
            "INSERT INTO runs (id, code, facility_id, window_start, window_end, places, status, created_at, closed_at)"
            " VALUES (?, ?, ?, ?, ?, 1, 'done', ?, ?)",
            (run_id, f"R-{run_id % 10000}", facility_id, to_db(start), to_db(start + timedelta(hours=3)),
             to_db(start), to_db(start + timedelta(hours=4))))
        await uow.session.run(
            "INSERT INTO parcels (id, run_id, prisoner_id, weight_g, categories, contents, outcome, outcome_note,"
            " delivered_on) VALUES (?, ?, ?, 3000, 'food', ?, 'delivered', ?, ?)",
            (parcel_id, run_id, prisoner_id,
             keyring.seal(json.dumps([CANARIES[0]]), table="parcels", column="contents", row_id=parcel_id),
             keyring.seal(CANARIES[1], table="parcels", column="outcome_note", row_id=parcel_id),
             start.date().isoformat()))
        await uow.session.run(
            "INSERT INTO assignments (id, run_id, member_id, status, claimed_at) VALUES (?, ?, ?, 'reported', ?)",
            (new_id(), run_id, member_id, to_db(start)))
    return run_id, facility_id


async def test_retention_erases_aged_details_keeps_counts_and_leaves_no_canary(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    volunteer = await bot.join(Role.VOLUNTEER)  # never finishes the profile: an unfinished registration
    member_id = (await bot.member(coordinator)).id
    old_run, facility_id = await _finished_run(bot, member_id, days_ago=20)
    recent_run, _ = await _finished_run(bot, member_id, days_ago=2)
    request_id = new_id()
    async with bot.store.write() as uow:
        await uow.session.run(
            "INSERT INTO family_requests (id, member_id, status, details, created_at, closed_at)"
            " VALUES (?, NULL, 'declined', ?, ?, ?)",
            (request_id, bot.store.keyring.seal(CANARIES[2], table="family_requests", column="details",
                                                row_id=request_id),
             to_db(bot.clock.now() - timedelta(days=40)), to_db(bot.clock.now() - timedelta(days=35))))
    await bot.invite_code(Role.FAMILY, hours=1)

    bot.clock.advance(timedelta(days=4))
    await jobs.run_due(bot.application)

    async with bot.store.read() as uow:
        run_ids = [row[0] for row in await uow.session.all("SELECT id FROM runs")]
        assert old_run not in run_ids and recent_run in run_ids
        assert await uow.session.value("SELECT count(*) FROM family_requests") == 0
        assert await uow.members.by_telegram(volunteer.user_id) is None
        assert await uow.members.by_telegram(coordinator.user_id) is not None
        assert await uow.invites.count() == 0
        counts = await uow.retention.weekly_counts()
    assert [(facility, outcome, parcels) for facility, _, outcome, parcels in counts] == [
        (facility_id, "delivered", 1)]

    await bot.stop()
    assert find_canaries(bot.database_files, CANARIES) == []


async def test_the_retention_row_books_the_next_day_and_runs_once(bot):
    await bot.join(Role.COORDINATOR)
    async with bot.store.read() as uow:
        pending = [item for item in await uow.schedule.pending() if item.kind == "retention"]
    assert len(pending) == 1
    bot.clock.set(pending[0].due_at + timedelta(minutes=1))
    assert await jobs.run_due(bot.application) >= 1
    assert await jobs.run_due(bot.application) == 0  # the same day never runs twice
    async with bot.store.read() as uow:
        nxt = [item for item in await uow.schedule.pending() if item.kind == "retention"]
    assert len(nxt) == 1 and nxt[0].due_at - pending[0].due_at == timedelta(days=1)
