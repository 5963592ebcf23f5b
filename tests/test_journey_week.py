"""A full week through the fake Bot API: needs -> plan -> publish -> announce -> two claims -> approval ->
details -> reminder -> confirm -> report -> family told -> details deleted -> retention leaves no canary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import RequestDetails, RequestStatus, Role
from schedules import jobs
from tests.canary import find_canaries
from tests.test_journey_runs import FACILITY_NAME, NEED_DETAILS, PRISONER_NAME, seed_week, stop_polling_job, volunteer

# The seeded SIZO's Thursday window next week: 09:00-13:00 in Minsk = 06:00-10:00 UTC.
WINDOW_START = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
REQUEST_TEXT = "Мама в СИЗО, просим гречку — Canary-Request-5"


async def family_with_request(bot):
    """A family whose accepted request is linked to the seeded prisoner."""
    family = await bot.join(Role.FAMILY, name="Ганна")
    member = await bot.member(family)
    async with bot.store.write() as uow:
        (prisoner,) = await uow.prisoners.list()
        request = await uow.requests.add(member.id, RequestDetails(full_name=PRISONER_NAME, birth_year=1987,
                                                                   text=REQUEST_TEXT))
        await uow.requests.link(request.id, prisoner.id)
        await uow.requests.close(request.id, RequestStatus.ACCEPTED)
    return family


async def publish_and_claim(bot, *, trial_second: bool = True, family: bool = False):
    """Coordinator plans and publishes; a trusted volunteer and (by default) a trial volunteer claim; approval.
    Returns (coordinator, first, second, code, family or None)."""
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда")
    area_id = await seed_week(bot)
    relative = await family_with_request(bot) if family else None
    first = await volunteer(bot, area_id, trusted=True, name="Алесь")
    second = await volunteer(bot, area_id, trusted=not trial_second, name="Zofia")
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    for person in (first, second):
        await bot.send(person, "/runs")
        await bot.press_label(person, f"Claim {code}")
    if trial_second:
        await bot.press_label(coordinator, "Approve")
        await bot.send(second, "/myruns")  # an approved place's details come on the volunteer's own tap
        await bot.press_label(second, "Details")
    return coordinator, first, second, code, relative


def sent_ids(bot, person, prefix: str) -> list[int]:
    return [call.response["result"]["message_id"] for call in bot.api.calls_to("sendMessage", chat_id=person.chat_id)
            if call.ok and call.params.get("text", "").startswith(prefix)]


def deleted_ids(bot, person) -> list[int]:
    return bot.api.deleted_ids(person.chat_id)


async def test_a_full_week_from_needs_to_family_update_and_nothing_left_after_retention(bot):
    # Given a family with a request for the prisoner, and a published run two volunteers hold
    coordinator, first, second, code, family = await publish_and_claim(bot, family=True)
    # Then each got the details once the place was theirs: silent, protected, neutral first line
    for person in (first, second):
        (call,) = [c for c in bot.api.calls_to("sendMessage", chat_id=person.chat_id)
                   if c.params.get("text", "").startswith("Details for your task")]
        assert call.params["text"].splitlines()[0] == f"Details for your task {code}"
        assert PRISONER_NAME in call.params["text"] and "1987" in call.params["text"]
        assert "Canary-77" in call.params["text"] and "ул. Канарейки, 2" in call.params["text"]
        assert call.params.get("disable_notification") in (True, "true", "True")
        assert call.params.get("protect_content") in (True, "true", "True")
    async with bot.store.read() as uow:
        reveals = [entry for entry in await uow.audit.recent(100) if entry.action == "details.revealed"]
    assert len(reveals) == 2

    # When the clock reaches 47 h after the claim, the details leave the chats
    bot.clock.advance(timedelta(hours=47, minutes=1))
    await jobs.run_due(bot.application)
    for person in (first, second):
        assert sent_ids(bot, person, "Details for your task") == deleted_ids(bot, person)

    # When it is 24 h before the window, both get a reminder with Confirm, and they confirm
    bot.clock.set(WINDOW_START - timedelta(hours=24))
    await jobs.run_due(bot.application)
    for person in (first, second):
        assert bot.last_text(person).startswith("Reminder for tomorrow: task " + code)
        await bot.press_label(person, "Confirm")
        assert bot.last_text(person) == f"Thank you: {code} is confirmed."
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Details")  # re-sent on request, audited again
    resent = sent_ids(bot, first, "Details for your task")[-1]

    # When the 12 h deadline passes, nobody is told anything (both confirmed)
    bot.clock.set(WINDOW_START - timedelta(hours=11))
    await jobs.run_due(bot.application)
    assert not any("Not confirmed" in text for text in bot.texts(coordinator))

    # When the window ends, each is asked to report; the first reports the parcel delivered
    bot.clock.set(WINDOW_END + timedelta(minutes=5))
    await jobs.run_due(bot.application)
    assert bot.last_text(first).startswith(f"Update on task {code}")
    await bot.press_label(first, "Report")
    assert bot.last_text(first) == f"Report for {code}: tap each parcel."
    await bot.press_label(first, "Тихая Сосна")  # the alias, never the name
    await bot.press_label(first, "Delivered")
    assert "Everything on" in bot.last_text(first)
    # Then the family hears neutrally, with no volunteer information
    assert bot.last_text(family) == "Update: a parcel was handed in on 03.12.2026."
    # And the re-sent details message is deleted at once, because the run is closed
    assert resent in deleted_ids(bot, first)
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        (parcel,) = await uow.runs.parcels_of(run.id)
        (prisoner,) = await uow.prisoners.list()
        needs = await uow.needs.list()
    reporter = await bot.member(first)
    assert run.status.value == "done" and parcel.outcome.value == "delivered"
    assert prisoner.last_parcel_on.isoformat() == "2026-12-03"
    assert {need.status.value for need in needs} == {"fulfilled"}
    assert reporter.runs_done == 1
    # And the second volunteer checks in with "I'm safe", so no alert follows
    await bot.press_label(second, "I'm safe")
    assert "glad you are safe" in bot.last_text(second)
    bot.clock.set(WINDOW_END + timedelta(hours=7))
    await jobs.run_due(bot.application)
    assert [text for text in bot.texts(coordinator) if text.startswith(("Missed check-in", "Still no"))] == []

    # When retention has passed, the run's details are gone from every file
    bot.clock.advance(timedelta(days=bot.config.run_retention_days + 2))
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []
    await bot.stop()
    assert find_canaries(bot.database_files, [NEED_DETAILS, "Canary-77", "ул. Канарейки"]) == []
    assert FACILITY_NAME  # the facility and the prisoner stay on the coordinators' lists by design
