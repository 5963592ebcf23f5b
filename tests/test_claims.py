"""Claims: atomic under a crowd, capped, single per run, only on open runs, released only by the owner."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest

from bot.clock import to_db
from bot.domain import AssignmentStatus, MemberStatus, Role
from bot.services import claims
from bot.services.errors import AlreadyClaimed, ClaimCapReached, NotAllowed, NotFound, RunFull, RunNotOpen
from bot.services.planner import DraftRun
from storage.repositories.base import new_id

_telegram_ids = itertools.count(7_700_000_001)


async def add_members(store, count: int, role: Role = Role.VOLUNTEER) -> list[int]:
    async with store.write() as uow:
        members = [
            await uow.members.add(role=role, status=MemberStatus.ACTIVE, telegram_user_id=(uid := next(_telegram_ids)),
                                  chat_id=uid, pseudonym=f"Tester {uid}", language="en")
            for _ in range(count)
        ]
    return [member.id for member in members]


async def add_run(store, *, places: int = 2, publish: bool = True, starts_in: timedelta = timedelta(days=3)) -> int:
    """A facility row written directly (no parcels needed for claiming) and a run on it."""
    now = store.clock.now()
    async with store.write() as uow:
        facility_id = new_id()
        await uow.session.run(
            "INSERT INTO facilities (id, kind, name, address, created_at) VALUES (?, 'sizo', ?, ?, ?)",
            (facility_id, b"x", b"x", to_db(now)),
        )
        run = await uow.runs.add_draft(DraftRun(facility_id, now + starts_in, now + starts_in + timedelta(hours=4),
                                                places, ()))
        if publish:
            assert await uow.runs.publish(run.id)
    return run.id


async def live_of(store, run_id: int) -> list:
    async with store.read() as uow:
        return await uow.runs.assignments_of(run_id, live_only=True)


@pytest.mark.parametrize("round_", range(20))
async def test_fifty_simultaneous_claims_on_a_two_place_run_take_exactly_two_places(store, round_):
    # Given fifty volunteers and a published run with two places
    volunteers = await add_members(store, 50)
    run_id = await add_run(store, places=2)
    # When they all claim at the same moment
    results = await asyncio.gather(
        *(claims.claim(store, run_id, member_id, cap=2, trial=False) for member_id in volunteers),
        return_exceptions=True,
    )
    # Then exactly two hold a place and the other 48 hear the run is full
    taken = [result for result in results if not isinstance(result, Exception)]
    assert len(taken) == 2
    assert sum(isinstance(result, RunFull) for result in results) == 48
    assert {assignment.id for assignment in await live_of(store, run_id)} == {result.id for result in taken}


async def test_a_member_cannot_hold_more_live_claims_than_the_cap(store):
    (volunteer,) = await add_members(store, 1)
    runs = [await add_run(store) for _ in range(3)]
    await claims.claim(store, runs[0], volunteer, cap=2, trial=False)
    await claims.claim(store, runs[1], volunteer, cap=2, trial=False)
    with pytest.raises(ClaimCapReached):
        await claims.claim(store, runs[2], volunteer, cap=2, trial=False)


async def test_claiming_the_same_run_twice_is_refused(store):
    (volunteer,) = await add_members(store, 1)
    run_id = await add_run(store)
    await claims.claim(store, run_id, volunteer, cap=2, trial=False)
    with pytest.raises(AlreadyClaimed):
        await claims.claim(store, run_id, volunteer, cap=2, trial=False)
    assert len(await live_of(store, run_id)) == 1


async def test_a_draft_a_past_or_an_unknown_run_cannot_be_claimed(store, clock):
    (volunteer,) = await add_members(store, 1)
    draft = await add_run(store, publish=False)
    past = await add_run(store, starts_in=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    for run_id in (draft, past, new_id()):
        with pytest.raises(RunNotOpen):
            await claims.claim(store, run_id, volunteer, cap=2, trial=False)


async def test_only_an_active_volunteer_may_claim(store):
    (coordinator,) = await add_members(store, 1, Role.COORDINATOR)
    (frozen,) = await add_members(store, 1)
    async with store.write() as uow:
        await uow.members.set_status(frozen, MemberStatus.FROZEN)
    run_id = await add_run(store)
    for member_id in (coordinator, frozen):
        with pytest.raises(NotAllowed):
            await claims.claim(store, run_id, member_id, cap=2, trial=False)


async def test_a_trial_claim_waits_for_approval_and_still_holds_the_place(store):
    volunteer, other = await add_members(store, 2)
    (coordinator,) = await add_members(store, 1, Role.COORDINATOR)
    run_id = await add_run(store, places=1)
    assignment = await claims.claim(store, run_id, volunteer, cap=2, trial=True)
    assert assignment.status is AssignmentStatus.AWAITING_APPROVAL
    with pytest.raises(RunFull):
        await claims.claim(store, run_id, other, cap=2, trial=False)
    approved = await claims.approve(store, assignment.id, coordinator)
    assert approved.status is AssignmentStatus.CLAIMED
    with pytest.raises(NotFound):  # decided once; a second press changes nothing
        await claims.reject(store, assignment.id, coordinator)


async def test_a_rejected_trial_claim_frees_the_place(store):
    volunteer, other = await add_members(store, 2)
    (coordinator,) = await add_members(store, 1, Role.COORDINATOR)
    run_id = await add_run(store, places=1)
    assignment = await claims.claim(store, run_id, volunteer, cap=2, trial=True)
    with pytest.raises(NotAllowed):
        await claims.approve(store, assignment.id, other)  # a volunteer cannot decide
    assert (await claims.reject(store, assignment.id, coordinator)).status is AssignmentStatus.RELEASED
    assert (await claims.claim(store, run_id, other, cap=2, trial=False)).status is AssignmentStatus.CLAIMED


async def test_release_gives_the_place_back_and_says_whether_it_was_late(store, clock):
    first, second, third = await add_members(store, 3)
    run_id = await add_run(store, places=1, starts_in=timedelta(days=3))
    assignment = await claims.claim(store, run_id, first, cap=2, trial=False)
    assert (await claims.release(store, assignment.id, first)).late is False
    again = await claims.claim(store, run_id, second, cap=2, trial=False)
    clock.advance(timedelta(days=2, hours=1))  # now 23 hours before the window
    assert (await claims.release(store, again.id, second)).late is True
    assert (await claims.claim(store, run_id, third, cap=2, trial=False)).member_id == third


async def test_a_member_cannot_release_someone_elses_place(store):
    owner, intruder = await add_members(store, 2)
    run_id = await add_run(store, places=1)
    assignment = await claims.claim(store, run_id, owner, cap=2, trial=False)
    with pytest.raises(NotFound):
        await claims.release(store, assignment.id, intruder)
    assert [item.member_id for item in await live_of(store, run_id)] == [owner]
    await claims.release(store, assignment.id, owner)
    with pytest.raises(NotFound):  # released once; a replay changes nothing
        await claims.release(store, assignment.id, owner)


async def test_a_place_books_its_reminders_and_deadlines_and_giving_it_back_cancels_them(store):
    volunteer, trial = await add_members(store, 2)
    (coordinator,) = await add_members(store, 1, Role.COORDINATOR)
    run_id = await add_run(store, places=2)

    async def pending_for(assignment_id: int) -> set[str]:
        async with store.read() as uow:
            return {item.kind for item in await uow.schedule.pending() if item.ref_id == assignment_id}

    booked = {"remind_run", "confirm_deadline", "report_prompt", "checkin_deadline"}
    mine = await claims.claim(store, run_id, volunteer, cap=2, trial=False)
    assert await pending_for(mine.id) == booked
    waiting = await claims.claim(store, run_id, trial, cap=2, trial=True)
    assert await pending_for(waiting.id) == set()  # nothing until a coordinator approves
    await claims.approve(store, waiting.id, coordinator)
    assert await pending_for(waiting.id) == booked
    await claims.release(store, mine.id, volunteer)
    assert await pending_for(mine.id) == set()
