"""Lockdown: only coordinators are served, tracked messages are deleted, and it survives a restart."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain import MemberStatus, Role
from handlers.notify import send_held, send_to_member
from schedules import jobs
from tests.canary import find_canaries

NEUTRAL = "This is a private bot."
FAMILY_NOTICE = "There is an update on your request. Open /status."


async def _tracked_message(bot, person):
    member = await bot.member(person)
    sent = await bot.application.bot.send_message(person.chat_id, "Details")
    async with bot.store.write() as uow:
        await uow.messages.track(member_id=member.id, kind="details", chat_id=person.chat_id,
                                 message_id=sent.message_id, delete_after=bot.clock.now() + timedelta(hours=40))
    return sent.message_id


async def test_lockdown_serves_only_coordinators_and_deletes_tracked_messages(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    message_id = await _tracked_message(bot, family)
    await bot.send(coordinator, "/lockdown")
    deleted = bot.api.deleted_ids(family.chat_id)
    assert message_id in deleted
    assert any("Lockdown is on" in text for text in bot.texts(coordinator))
    await bot.send(family, "/help")
    assert bot.last_text(family) == NEUTRAL
    await bot.send(coordinator, "/help")
    assert "/lockdown" in bot.last_text(coordinator)

    await bot.restart()  # the switch is in the database, not only in memory
    await bot.send(family, "/help")
    assert bot.last_text(family) == NEUTRAL

    await bot.send(coordinator, "/lockdown off")
    await bot.send(family, "/help")
    assert "/status" in bot.last_text(family) or "/help" in bot.last_text(family)
    assert bot.last_text(family) != NEUTRAL


async def test_only_coordinators_can_lock_down(bot):
    await bot.join(Role.COORDINATOR)
    volunteer = await bot.join(Role.VOLUNTEER)
    family = await bot.join(Role.FAMILY)
    await bot.send(family, "/lockdown")
    assert "I did not understand" in bot.last_text(family)
    await bot.send(volunteer, "/lockdown")
    async with bot.store.read() as uow:
        assert not await uow.meta.flag("lockdown")


async def test_lockdown_can_stop_the_process(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    stopped = []
    bot.runtime.config = dataclasses.replace(bot.runtime.config, lockdown_stops_process=True)
    bot.runtime.extras["request_stop"] = lambda: stopped.append(True)
    await bot.send(coordinator, "/lockdown")
    assert stopped == [True]
    assert "passphrase" in bot.last_text(coordinator)


async def _trial_claim_waiting(bot):
    """A published run and a trial volunteer's claim on it, waiting for the coordinator's Approve."""
    from tests.test_journey_runs import seed_week, stop_polling_job, volunteer

    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    newcomer = await volunteer(bot, area_id, trusted=False)
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await bot.send(newcomer, "/runs")
    await bot.press_label(newcomer, f"Claim {code}")
    approve = dict(bot.api.buttons(coordinator.chat_id))["Approve"]
    return coordinator, newcomer, code, approve


async def test_in_lockdown_a_coordinators_actions_tell_volunteers_nothing_until_it_is_lifted(bot):
    """Approving a claim or calling a run off tells the volunteer: in lockdown neither notice reaches them.
    Both are kept, sealed, and go out in order once the lockdown is lifted."""
    coordinator, newcomer, code, approve = await _trial_claim_waiting(bot)
    heard = len(bot.texts(newcomer))

    await bot.send(coordinator, "/lockdown")
    await bot.press(coordinator, approve)
    assert bot.last_text(coordinator) == f"Approved: {code}."
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    await bot.press_label(coordinator, f"Call off {code}")
    await bot.press_label(coordinator, "Yes, call it off")
    assert bot.last_text(coordinator) == (f"{code} is called off; its needs are open again. Its volunteers will be "
                                          "told when the lockdown ends.")
    assert len(bot.texts(newcomer)) == heard  # no "confirmed", no "called off"
    assert "message held back in lockdown" in bot.logs()
    await jobs.run_due(bot.application)  # the scheduler's round keeps them too while locked down
    assert len(bot.texts(newcomer)) == heard
    await bot.stop()
    assert find_canaries(bot.database_files, ["is confirmed", "There is no need to go"]) == []  # held sealed
    await bot.start()

    await bot.send(coordinator, "/lockdown off")
    assert bot.texts(newcomer)[heard:] == [
        f"Your place on {code} is confirmed. Press Details in /myruns when you need them.",
        f"Update: task {code} is called off. There is no need to go. Thank you.",
    ]
    assert ("Service is restored: lockdown is off. Messages held back meanwhile go out now: 2."
            in bot.texts(coordinator))
    await jobs.run_due(bot.application)  # sent once, never again
    assert len(bot.texts(newcomer)) == heard + 2
    async with bot.store.read() as uow:
        assert not await uow.notices.waiting()


async def _held_notice_for(bot, person) -> None:
    """A notice sent to `person` while the bot is locked down (a family's request answered, say)."""
    context = jobs.context_for(bot.application)
    assert await send_to_member(context, await bot.member(person), FAMILY_NOTICE) is None


async def test_a_member_frozen_or_erased_during_the_lockdown_gets_nothing_held_for_them(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    kept, frozen, erased = [await bot.join(Role.FAMILY) for _ in range(3)]
    await bot.send(coordinator, "/lockdown")
    for person in (kept, frozen, erased):
        await _held_notice_for(bot, person)
    frozen_id, erased_id = (await bot.member(frozen)).id, (await bot.member(erased)).id
    async with bot.store.write() as uow:
        await uow.members.set_status(frozen_id, MemberStatus.FROZEN)
        await uow.members.erase(erased_id)
    heard = {person.chat_id: len(bot.texts(person)) for person in (kept, frozen, erased)}

    await bot.send(coordinator, "/lockdown off")
    assert bot.texts(kept)[heard[kept.chat_id]:] == [FAMILY_NOTICE]
    assert len(bot.texts(frozen)) == heard[frozen.chat_id]
    assert len(bot.texts(erased)) == heard[erased.chat_id]
    async with bot.store.read() as uow:
        assert not await uow.notices.waiting()  # what could not go is not kept either


async def test_a_frozen_member_gets_nothing_held_and_a_lockdown_begun_again_keeps_the_rest(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await bot.send(coordinator, "/lockdown")
    await _held_notice_for(bot, family)
    member_id = (await bot.member(family)).id
    async with bot.store.write() as uow:
        await uow.members.set_status(member_id, MemberStatus.FROZEN)
    await _held_notice_for(bot, family)  # frozen: not even kept
    async with bot.store.read() as uow:
        assert len(await uow.session.all("SELECT id FROM held_notices")) == 1

    async with bot.store.write() as uow:
        await uow.members.set_status(member_id, MemberStatus.ACTIVE)
    bot.runtime.extras["lockdown"] = True  # locked again before the round: the notice waits on
    context = jobs.context_for(bot.application)
    assert await send_held(context) == 0
    bot.runtime.extras["lockdown"] = False
    heard = len(bot.texts(family))
    assert await send_held(context) == 1
    assert bot.texts(family)[heard:] == [FAMILY_NOTICE]


async def test_held_notices_age_out_with_retention(bot):
    from bot.services.retention import RetentionPolicy, run_retention

    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await bot.send(coordinator, "/lockdown")
    await _held_notice_for(bot, family)
    policy = RetentionPolicy(run_days=14)
    bot.clock.advance(timedelta(days=13))
    assert (await run_retention(bot.store, policy))["held_notices"] == 0
    bot.clock.advance(timedelta(days=2))
    assert (await run_retention(bot.store, policy))["held_notices"] == 1
    heard = len(bot.texts(family))
    await bot.send(coordinator, "/lockdown off")
    assert len(bot.texts(family)) == heard


async def test_a_frozen_member_hears_nothing_whatever_sends_to_them(bot):
    """The last check behind every caller's own filter: a notice addressed to a frozen member stays unsent."""
    family = await bot.join(Role.FAMILY)
    member = await bot.member(family)
    async with bot.store.write() as uow:
        await uow.members.set_status(member.id, MemberStatus.FROZEN)
    heard = len(bot.texts(family))
    frozen = await bot.member(family)
    assert await send_to_member(jobs.context_for(bot.application), frozen, "Update: a parcel was handed in on {date}.",
                                date="01.12.2026") is None
    assert len(bot.texts(family)) == heard


async def test_in_lockdown_only_coordinator_invites_register_and_others_wait_unspent(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    volunteer_code = await bot.invite_code(Role.VOLUNTEER)
    coordinator_code = await bot.invite_code(Role.COORDINATOR)
    await bot.send(coordinator, "/lockdown")

    newcomer = bot.person(name="Ціхі Госць")
    for _ in range(8):  # a good code tried again and again is not a wrong guess: no block after the lockdown
        await bot.send(newcomer, f"/start {volunteer_code}")
        assert bot.last_text(newcomer) == NEUTRAL
    assert await bot.member(newcomer) is None
    second = bot.person(name="Second Coordinator")
    await bot.send(second, f"/start {coordinator_code}")
    assert (await bot.member(second)).role is Role.COORDINATOR

    await bot.send(coordinator, "/lockdown off")
    await bot.send(newcomer, f"/start {volunteer_code}")  # the code was not spent
    assert (await bot.member(newcomer)).role is Role.VOLUNTEER


async def test_a_held_notice_about_a_run_whose_window_passed_is_dropped_and_announcements_are_not_held(bot):
    from bot.services import runs as run_service
    from handlers.runs import announce
    from tests.test_journey_week import WINDOW_END

    coordinator, newcomer, code, approve = await _trial_claim_waiting(bot)
    await bot.send(coordinator, "/lockdown")
    await bot.press(coordinator, approve)  # "Your place on ... is confirmed": about that run
    await _held_notice_for(bot, newcomer)  # about no run: always still worth saying
    context = jobs.context_for(bot.application)
    member = await bot.member(newcomer)
    await announce(context, run_service.Announcement(member, ((WINDOW_END.date(), 1),)))  # not kept
    async with bot.store.read() as uow:
        assert await uow.notices.waiting() == 2
    heard = len(bot.texts(newcomer))

    bot.clock.set(WINDOW_END + timedelta(minutes=5))  # a long lockdown: the task is over
    await bot.send(coordinator, "/lockdown off")
    assert bot.texts(newcomer)[heard:] == [FAMILY_NOTICE]
