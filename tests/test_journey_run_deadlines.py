"""The runs' deadlines before the window: free places 48 h before alert the coordinators once; a place not
confirmed 12 h before is given up, the coordinators are told and the run is announced again to the other
volunteers of the area who go on that weekday."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import AssignmentStatus, Role
from bot.services import run_jobs
from schedules import jobs
from tests.test_journey_runs import seed_week, stop_polling_job, volunteer
from tests.test_journey_week import WINDOW_END, WINDOW_START, sent_ids

ANNOUNCEMENT = "1 new task for Thu 03.12"


def free_places_alerts(bot, person, code: str) -> list[str]:
    return [text for text in bot.texts(person) if text.startswith(f"Task {code} still has free places")]


def unclaimed_text(code: str, left: int) -> str:
    return f"Task {code} still has free places: {left}. It starts within two days. Open /board."


async def seeded(bot):
    """A coordinator and the seeded SIZO (two places, Thursday window), with the polling job stopped.
    Returns (coordinator, area_id)."""
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда Вуглова")
    area_id = await seed_week(bot)
    return coordinator, area_id


async def publish(bot, coordinator) -> str:
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    return code


async def claim(bot, person, code: str) -> None:
    await bot.send(person, "/runs")
    await bot.press_label(person, f"Claim {code}")


async def test_a_run_nobody_claimed_alerts_the_coordinators_48_hours_before_and_only_once(bot):
    coordinator, area_id = await seeded(bot)
    idle = await volunteer(bot, area_id, trusted=True, name="Ціхан Zaleski")
    code = await publish(bot, coordinator)
    assert bot.last_text(idle).startswith(ANNOUNCEMENT)  # it was announced; nobody claims it

    # A minute before the 48 h mark: nothing yet
    bot.clock.set(WINDOW_START - timedelta(hours=48, minutes=1))
    await jobs.run_due(bot.application)
    assert free_places_alerts(bot, coordinator, code) == []

    # At 48 h before the window the coordinator hears, with both places still free
    bot.clock.set(WINDOW_START - timedelta(hours=48))
    await jobs.run_due(bot.application)
    assert free_places_alerts(bot, coordinator, code) == [unclaimed_text(code, 2)]
    # the volunteers are not told anything by it
    assert free_places_alerts(bot, idle, code) == []

    # Later rounds do not repeat it
    await jobs.run_due(bot.application)
    bot.clock.advance(timedelta(hours=6))
    await jobs.run_due(bot.application)
    assert free_places_alerts(bot, coordinator, code) == [unclaimed_text(code, 2)]


async def test_a_half_claimed_run_alerts_with_the_places_still_free(bot):
    coordinator, area_id = await seeded(bot)
    taker = await volunteer(bot, area_id, trusted=True, name="Алеся Quill")
    code = await publish(bot, coordinator)
    await claim(bot, taker, code)
    assert f"The place on {code} is yours" in bot.texts(taker)[-2]

    bot.clock.set(WINDOW_START - timedelta(hours=48))
    await jobs.run_due(bot.application)
    assert free_places_alerts(bot, coordinator, code) == [unclaimed_text(code, 1)]


async def test_a_fully_claimed_run_gives_no_free_places_alert(bot):
    coordinator, area_id = await seeded(bot)
    first = await volunteer(bot, area_id, trusted=True, name="Барыс Wren")
    second = await volunteer(bot, area_id, trusted=True, name="Janka Верас")
    code = await publish(bot, coordinator)
    for person in (first, second):
        await claim(bot, person, code)
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        pending = {item.kind for item in await uow.schedule.pending() if item.ref_id == run.id}
    assert run_jobs.UNCLAIMED_ALERT in pending  # the check is booked; it just finds nothing to say

    bot.clock.set(WINDOW_START - timedelta(hours=48))
    await jobs.run_due(bot.application)
    bot.clock.advance(timedelta(hours=1))
    await jobs.run_due(bot.application)
    assert not any("still has free places" in text for text in bot.texts(coordinator))
    async with bot.store.read() as uow:
        pending = {item.kind for item in await uow.schedule.pending() if item.ref_id == run.id}
    assert run_jobs.UNCLAIMED_ALERT not in pending  # done, not waiting to fire later


async def test_a_place_not_confirmed_12_hours_before_is_given_up_and_the_run_announced_again(bot):
    # Given a published run two trusted volunteers hold, a third who goes on Thursdays but did not claim,
    # and one who goes only on Mondays
    coordinator, area_id = await seeded(bot)
    keen = await volunteer(bot, area_id, trusted=True, name="Усцін Keen")
    silent = await volunteer(bot, area_id, trusted=True, name="Olga Маўклівая")
    spare = await volunteer(bot, area_id, trusted=True, name="Тарас Spare")
    monday_only = await volunteer(bot, area_id, trusted=True, weekdays=(0,), name="Monika Панядзелак")
    code = await publish(bot, coordinator)
    for person in (keen, silent):
        await claim(bot, person, code)
    for person in (keen, silent, spare):
        assert [text for text in bot.texts(person) if text.startswith(ANNOUNCEMENT)] == [
            f"{ANNOUNCEMENT}\nSend /runs to see them."]
    silent_member = await bot.member(silent)

    # The reminder 24 h before: the keen one confirms; the silent one asks for the details again, but never
    # confirms
    bot.clock.set(WINDOW_START - timedelta(hours=24))
    await jobs.run_due(bot.application)
    await bot.press_label(keen, "Confirm")
    assert bot.last_text(keen) == f"Thank you: {code} is confirmed."
    await bot.press_label(silent, "Details")
    resent = sent_ids(bot, silent, f"Details for your task {code}")[-1]
    assert resent not in bot.api.deleted_ids(silent.chat_id)

    # A minute before the 12 h deadline nothing happens
    bot.clock.set(WINDOW_START - timedelta(hours=12, minutes=1))
    await jobs.run_due(bot.application)
    assert not any(text.startswith("Not confirmed") for text in bot.texts(coordinator))

    # At the deadline
    bot.clock.set(WINDOW_START - timedelta(hours=12))
    await jobs.run_due(bot.application)
    # Then the coordinator is told, by pseudonym
    not_confirmed = [text for text in bot.texts(coordinator) if text.startswith("Not confirmed")]
    assert not_confirmed == [f"Not confirmed: task {code} ({silent_member.pseudonym}). The place is offered again. "
                             "Open /board."]
    # And the silent volunteer hears that the place went to others, and their details left the chat
    assert bot.last_text(silent) == (f"You did not confirm {code}, so the place was offered to others. "
                                     "Thank you for your help.")
    assert resent in bot.api.deleted_ids(silent.chat_id)
    # And the spare Thursday volunteer hears the neutral announcement a second time; nobody else does
    assert bot.last_text(spare) == f"{ANNOUNCEMENT}\nSend /runs to see them."
    assert len([text for text in bot.texts(spare) if text.startswith(ANNOUNCEMENT)]) == 2
    for person in (keen, silent):
        assert len([text for text in bot.texts(person) if text.startswith(ANNOUNCEMENT)]) == 1
    assert not any("new task" in text for text in bot.texts(monday_only))
    # And the place is free: the silent one's assignment is released and its later work dropped
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        statuses = {a.member_id: a.status for a in await uow.runs.assignments_of(run.id)}
        pending = [item for item in await uow.schedule.pending() if item.kind in run_jobs.ASSIGNMENT_JOBS]
        silent_assignment = [a.id for a in await uow.runs.assignments_of(run.id) if a.member_id == silent_member.id]
    assert statuses == {(await bot.member(keen)).id: AssignmentStatus.CONFIRMED,
                        silent_member.id: AssignmentStatus.RELEASED}
    assert not [item for item in pending if item.ref_id in silent_assignment]

    # A second round repeats nothing
    texts_before = {id(person): len(bot.texts(person)) for person in (coordinator, silent, spare)}
    await jobs.run_due(bot.application)
    for person in (coordinator, silent, spare):
        assert len(bot.texts(person)) == texts_before[id(person)]

    # And the spare volunteer can take the freed place at once
    await bot.send(spare, "/runs")
    assert code in bot.last_text(spare) and "places left: 1 of 2" in bot.last_text(spare)
    await bot.press_label(spare, f"Claim {code}")
    assert f"The place on {code} is yours" in bot.texts(spare)[-2]

    # And at the window's end the silent one is not asked to report
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    assert not any(text.startswith(f"Update on task {code}") for text in bot.texts(silent))
    assert bot.last_text(keen).startswith(f"Update on task {code}")
