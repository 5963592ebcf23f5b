"""Runs journeys: a coordinator plans and publishes, volunteers hear neutrally, claim by button, one is too late."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain import (
    FacilityKind,
    FacilityRules,
    HandoverWindow,
    MemberStatus,
    NeedCategory,
    PrisonerStatus,
    Role,
    RunStatus,
    Urgency,
)
from bot.services import buttons
from bot.services import runs as run_service
from bot.services.run_jobs import ASSIGNMENT_JOBS, RUN_JOBS
from schedules import jobs
from tests.canary import find_canaries

PRISONER_NAME = "Янина Канарейкина"
NEED_DETAILS = "гречка и витамин D для Canary-77"
FACILITY_NAME = "СИЗО-1 Валадарка канарейка"


def stop_polling_job(bot) -> None:
    """Tests drive rounds themselves with run_due; the 30 s background round must not race them."""
    for job in bot.application.job_queue.get_jobs_by_name("due-work"):
        job.schedule_removal()


async def seed_week(bot) -> int:
    """An area, a SIZO with a Thursday window and two places, one prisoner with two open needs."""
    async with bot.store.write() as uow:
        area = await uow.areas.add("Minsk")
        facility = await uow.facilities.add(
            kind=FacilityKind.SIZO, name=FACILITY_NAME, address="ул. Канарейки, 2", area_id=area.id,
            rules=FacilityRules(windows=(HandoverWindow(3, "09:00", "13:00"),), kg_per_month=30),
            effective_from=date(2026, 1, 1), places=2,
        )
        prisoner = await uow.prisoners.add(alias="Тихая Сосна", full_name=PRISONER_NAME, birth_year=1987,
                                           facility_id=facility.id, status=PrisonerStatus.PRE_TRIAL)
        await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=3000, details=NEED_DETAILS)
        await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.HYGIENE, weight_g=500,
                            urgency=Urgency.URGENT)
    return area.id


async def seed_colonies(bot, count: int, area_name: str) -> None:
    """`count` colonies (one window each, Monday to Friday in turn), each with one prisoner with one open
    need: a plan of `count` one-parcel runs, for views that must cope with many."""
    async with bot.store.write() as uow:
        area = await uow.areas.add(area_name)
        for number in range(count):
            facility = await uow.facilities.add(
                kind=FacilityKind.COLONY, name=f"Калонія {number}", address=f"вул. {number}", area_id=area.id,
                rules=FacilityRules(windows=(HandoverWindow(number % 5, "10:00", "12:00"),)),
                effective_from=date(2026, 1, 1), places=1)
            prisoner = await uow.prisoners.add(alias=f"Alias {number:02d}", full_name=f"Name {number}",
                                               birth_year=1970, facility_id=facility.id,
                                               status=PrisonerStatus.SENTENCED)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=1000)


async def volunteer(bot, area_id: int, *, trusted: bool, weekdays=(3,), name="Anon"):
    """A volunteer whose profile covers the area on the given weekdays (written directly: /profile is tested
    in the members journeys)."""
    person = await bot.join(Role.VOLUNTEER, name=name)
    member = await bot.member(person)
    async with bot.store.write() as uow:
        await uow.members.set_profile(member.id, (area_id,), weekdays)
        await uow.members.set_status(member.id, MemberStatus.ACTIVE)
        await uow.members.set_trusted(member.id, trusted)
    return person


async def test_plan_publish_announce_claim_approve_and_the_third_hears_it_is_full(bot):
    # Given a coordinator, a week of needs, two volunteers who go on Thursdays and one who goes on Mondays
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда")
    area_id = await seed_week(bot)
    trusted = await volunteer(bot, area_id, trusted=True, name="Алесь")
    newcomer = await volunteer(bot, area_id, trusted=False, name="Zofia")
    late = await volunteer(bot, area_id, trusted=True, name="Міхась")
    monday_only = await volunteer(bot, area_id, trusted=True, weekdays=(0,))

    # When the coordinator plans next week
    await bot.send(coordinator, "/plan")
    plan_text = bot.last_text(coordinator)
    # Then one draft run shows coarsely: code, kind, area, Thursday and its window, one parcel, no names
    assert "draft · R-" in plan_text and "SIZO · Minsk · Thu 03.12 · 09:00–13:00 · 1 parcel" in plan_text
    assert PRISONER_NAME not in plan_text and "Валадарка" not in plan_text
    code = plan_text.split("draft · ")[1].split(" ")[0]

    # When they publish it (the announcement is queued as a job, so the button answers at once)
    stop_polling_job(bot)
    await bot.press_label(coordinator, "Publish all")
    assert "Volunteers to be told: 3" in bot.last_text(coordinator)
    await jobs.run_due(bot.application)
    # Then the Thursday volunteers hear a neutral line, the Monday-only volunteer hears nothing
    for person in (trusted, newcomer, late):
        assert bot.last_text(person).splitlines()[0] == "1 new task for Thu 03.12"
    assert not any("new task" in text for text in bot.texts(monday_only))

    # When the late one opens the list first but the other two claim before them
    await bot.send(late, "/runs")
    assert code in bot.last_text(late) and "places left: 2 of 2" in bot.last_text(late)
    late_claim = bot.api.buttons(late.chat_id)[0][1]
    await bot.send(trusted, "/runs")
    await bot.press_label(trusted, f"Claim {code}")
    assert "is yours" in bot.texts(trusted)[-2]
    assert bot.last_text(trusted).splitlines()[0] == f"Details for your task {code}"  # a neutral first line
    await bot.send(newcomer, "/runs")
    await bot.press_label(newcomer, f"Claim {code}")
    assert "A coordinator will confirm your place" in bot.last_text(newcomer)
    await bot.press(late, late_claim)
    # Then the third hears it is full, and the list no longer offers it
    assert bot.last_text(late) == "Sorry, this task is already full."
    await bot.send(late, "/runs")
    assert "No open tasks" in bot.last_text(late)

    # And the coordinator approves the newcomer's claim from a neutral alert
    assert bot.last_text(coordinator).startswith("A claim is waiting for approval.")
    assert not any(text.startswith("Details for your task") for text in bot.texts(newcomer))  # not before approval
    await bot.press_label(coordinator, "Approve")
    assert bot.last_text(newcomer) == f"Your place on {code} is confirmed. Press Details in /myruns when you need them."
    # The details only in answer to their own tap, never pushed
    assert not any(text.startswith("Details for your task") for text in bot.texts(newcomer))
    await bot.send(newcomer, "/myruns")
    await bot.press_label(newcomer, "Details")
    assert bot.last_text(newcomer).startswith("Details for your task")

    # And /myruns lets a volunteer give the place back, which opens it for the third
    await bot.send(trusted, "/myruns")
    assert code in bot.last_text(trusted)
    await bot.press_label(trusted, "Give back")
    assert "free again" in bot.last_text(trusted)
    await bot.send(late, "/runs")
    await bot.press_label(late, f"Claim {code}")
    assert "is yours" in bot.texts(late)[-2]

    # Nothing any volunteer saw names the recipient, the facility or the contents, except the details
    # message to a volunteer who holds the place; and giving the place back deleted that message
    for person in (trusted, newcomer, late, monday_only):
        for text in bot.texts(person):
            if text.startswith(f"Details for your task {code}") and person is not monday_only:
                continue
            assert PRISONER_NAME not in text and "Валадарка" not in text and "Canary-77" not in text
    assert len(bot.api.deleted_ids(trusted.chat_id)) == 1
    await bot.stop()
    assert find_canaries(bot.database_files, [PRISONER_NAME, NEED_DETAILS, FACILITY_NAME, "Canary-77"]) == []


async def test_volunteers_and_families_cannot_plan_and_coordinators_cannot_claim(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    helper = await volunteer(bot, area_id, trusted=True)
    family = await bot.join(Role.FAMILY)
    for person in (helper, family):
        await bot.send(person, "/plan")
        assert "I did not understand" in bot.last_text(person)
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []
    await bot.send(coordinator, "/runs")
    assert "I did not understand" in bot.last_text(coordinator)


async def test_dropping_a_draft_keeps_its_needs_for_next_week_and_places_toggle(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_week(bot)
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Places 1↔2")
    assert "now takes 1 volunteer." in bot.last_text(coordinator)
    await bot.send(coordinator, "/plan")  # nothing new to plan: the same draft shows again
    assert bot.last_text(coordinator).count("draft · R-") == 1
    plan_message = bot.api.calls_to("sendMessage", chat_id=coordinator.chat_id)[-1].result["message_id"]
    [drop_button] = [data for label, data in bot.api.buttons(coordinator.chat_id) if label.startswith("Drop")]
    await bot.press(coordinator, drop_button)
    after = bot.api.calls_to("editMessageText", chat_id=coordinator.chat_id)[-1]
    assert after.params["message_id"] == plan_message, "the plan is shown again in place"
    assert "taken out of this week's plan" in after.params["text"]
    assert "every draft was taken out" in after.params["text"]
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []
        statuses = {row[0] for row in await uow.session.all("SELECT status FROM needs")}
    assert statuses == {"open"}

    # Showing the plan again does not draft them again this week, not even a need posted since:
    # Drop means "not these people this week"
    async with bot.store.write() as uow:
        [prisoner] = await uow.prisoners.list()
        await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.CLOTHES, weight_g=1000)
    await bot.send(coordinator, "/plan")
    assert "every draft was taken out" in bot.last_text(coordinator)
    await bot.press(coordinator, drop_button)  # an old button: the run is gone
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []

    # The plan, wherever it is shown, offers to put them back: drafted again at once, with the need since
    await bot.press_label(coordinator, "Put the dropped parcels back in the plan (1)")
    assert "Put back in the plan." in bot.last_text(coordinator)
    assert bot.last_text(coordinator).count("draft · R-") == 1
    assert not any("Put the dropped" in label for label, _ in bot.api.buttons(coordinator.chat_id))
    async with bot.store.read() as uow:
        [run] = await uow.runs.list()
        assert len((await uow.runs.parcels_of(run.id))[0].need_ids) == 3
    run_code = run.code
    await bot.press_label(coordinator, "Drop")
    [put_back] = [data for label, data in bot.api.buttons(coordinator.chat_id) if "Put the dropped" in label]
    bot.clock.advance(timedelta(days=14))  # that week is over: its button no longer plans anything
    await bot.press(coordinator, put_back)
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []
    bot.clock.advance(timedelta(days=-14))

    # ... and the next week's planning takes them
    week = run_service.next_week_start(bot.clock.now(), bot.config.tz)
    [run] = await run_service.plan(bot.store, week + timedelta(days=7), bot.config.tz)
    async with bot.store.read() as uow:
        assert len(await uow.runs.parcels_of(run.id)) == 1
        assert {row[0] for row in await uow.session.all("SELECT status FROM needs")} == {"planned"}
        assert ("run.dropped", run_code) in [(e.action, e.subject) for e in await uow.audit.recent()]


async def test_drops_on_several_pages_are_put_back_together_from_any_page(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_colonies(bot, 25, "Гродна")
    await bot.send(coordinator, "/plan")
    assert "25 tasks (drafts: 25) · page 1 of 3" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Next")
    await bot.press_label(coordinator, "Drop")  # stays on page 2
    assert "page 2 of 3" in bot.last_text(coordinator) and "24 tasks" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Drop")
    await bot.press_label(coordinator, "Previous")
    assert "23 tasks" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Put the dropped parcels back in the plan (2)")
    assert "25 tasks (drafts: 25)" in bot.last_text(coordinator)
    async with bot.store.read() as uow:
        assert [e.action for e in await uow.audit.recent()].count("plan.undropped") == 1


async def test_runs_shows_the_soonest_twenty_and_says_how_many_more(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_colonies(bot, 25, "Віцебск")
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Publish all")
    async with bot.store.read() as uow:
        [area] = await uow.areas.list()
    person = await volunteer(bot, area.id, trusted=True, weekdays=range(7))
    await bot.send(person, "/runs")
    listed = bot.last_text(person)
    claims = [label for label, _ in bot.api.buttons(person.chat_id) if label.startswith("Claim")]
    assert len(claims) == 20 and listed.splitlines()[-1] == "… and 5 more, later."
    assert sum("R-" in line for line in listed.splitlines()[1:-1]) == 20


def toasts(bot) -> list[str]:
    return [call.params.get("text", "") for call in bot.api.calls_to("answerCallbackQuery")
            if call.ok and call.params.get("text")]


async def test_a_coordinator_calls_off_a_published_run_and_its_volunteers_hear_not_to_go(bot):
    # Given a published run with one volunteer holding a place (details sent) and one waiting for approval
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда")
    area_id = await seed_week(bot)
    holder = await volunteer(bot, area_id, trusted=True, name="Алесь")
    waiting = await volunteer(bot, area_id, trusted=False, name="Zofia")
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    for person in (holder, waiting):
        await bot.send(person, "/runs")
        await bot.press_label(person, f"Claim {code}")
    assert bot.last_text(holder).startswith(f"Details for your task {code}")
    assert "A coordinator will confirm your place" in bot.last_text(waiting)

    # A volunteer has no way in: /board is refused, and the action is not theirs even with a button
    await bot.send(holder, "/board")
    assert "I did not understand" in bot.last_text(holder)
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
    forged = await buttons.issue(bot.store, (await bot.member(holder)).id,
                                 [[buttons.Choice("x", "runs.calloff", {"run": run.id})]], ttl_hours=1)
    await bot.press(holder, forged[0][0][1])
    async with bot.store.read() as uow:
        assert (await uow.runs.get(run.id)).status is RunStatus.PUBLISHED

    # When the coordinator opens /board, picks "Call off a task", then the run, and first says no
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    listing = bot.last_text(coordinator)
    assert listing.startswith("Which task is called off?") and code in listing and PRISONER_NAME not in listing
    await bot.press_label(coordinator, f"Call off {code}")
    assert bot.last_text(coordinator).startswith(f"Call off {code}? Volunteers holding a place will be told")
    await bot.press_label(coordinator, "No, keep it")
    assert bot.last_text(coordinator) == "Nothing changed."
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
    assert run.status is RunStatus.PUBLISHED

    # And then does it
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    await bot.press_label(coordinator, f"Call off {code}")
    sure = dict(bot.api.buttons(coordinator.chat_id))["Yes, call it off"]
    await bot.press(coordinator, sure)
    # Then both volunteers hear, neutrally, that there is no need to go; the details left the holder's chat
    assert bot.last_text(coordinator) == f"{code} is called off; its needs are open again. Volunteers told: 2."
    for person in (holder, waiting):
        assert bot.last_text(person) == f"Update: task {code} is called off. There is no need to go. Thank you."
    assert len(bot.api.deleted_ids(holder.chat_id)) == 1
    # And the run is cancelled, its needs open for the next plan, nothing of it left to fall due
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        needs = {row[0] for row in await uow.session.all("SELECT status FROM needs")}
        assignments = {row[0] for row in await uow.session.all("SELECT status FROM assignments")}
        pending = [item for item in await uow.schedule.pending() if item.kind in (*ASSIGNMENT_JOBS, *RUN_JOBS)]
    assert run.status is RunStatus.CANCELLED and needs == {"open"} and assignments == {"released"}
    assert pending == []
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # its week: the board's record keeps it, marked
    await bot.send(coordinator, "/board")
    assert f"called off · {code}" in bot.last_text(coordinator)

    # When the day comes and goes: no reminder, no report prompt, no missed check-in, nobody frozen
    texts_before = {id(person): len(bot.texts(person)) for person in (holder, waiting, coordinator)}
    bot.clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    await jobs.run_due(bot.application)
    for person in (holder, waiting):
        assert len(bot.texts(person)) == texts_before[id(person)]
    # (the coordinator hears the week's planning and digest, but nothing about this run)
    assert not any(code in text for text in bot.texts(coordinator)[texts_before[id(coordinator)]:])
    assert (await bot.member(holder)).status is MemberStatus.ACTIVE

    # And the same button pressed again changes nothing and says so briefly
    await bot.press(coordinator, sure)
    assert toasts(bot)[-1] in ("This button has expired. Send the command again.",
                                            "This is no longer available.")
    await bot.stop()
    assert find_canaries(bot.database_files, [PRISONER_NAME, NEED_DETAILS, FACILITY_NAME, "Canary-77"]) == []


async def test_a_run_whose_window_has_opened_cannot_be_called_off(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    holder = await volunteer(bot, area_id, trusted=True)
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await bot.send(holder, "/runs")
    await bot.press_label(holder, f"Claim {code}")
    bot.clock.set(datetime(2026, 12, 3, 5, 55, tzinfo=UTC))  # Thu 03.12, 08:55 in Minsk
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    await bot.press_label(coordinator, f"Call off {code}")
    # The volunteer may be on the way by the time the coordinator confirms, ten minutes later
    bot.clock.set(datetime(2026, 12, 3, 6, 5, tzinfo=UTC))
    await bot.press_label(coordinator, "Yes, call it off")
    assert toasts(bot)[-1] == "This task has already started: its volunteers report and check in as usual."
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
    assert run.status is RunStatus.PUBLISHED
    assert not any("called off" in text for text in bot.texts(holder))
    # And the list no longer offers it
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    assert bot.last_text(coordinator) == "No published task is waiting to start in the next two weeks."
