"""Missed check-in: coordinators alerted and the volunteer frozen at window end + grace, a second alert later;
"I'm safe" or a report prevents both. Plus hostile presses on Report and Details, and lockdown."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import MemberStatus, Role
from bot.services import buttons
from schedules import jobs
from tests.test_journey_week import WINDOW_END, WINDOW_START, publish_and_claim

NEUTRAL = "This is a private bot."


async def confirmed_run(bot):
    """Two trusted volunteers on a run, both confirmed after the reminder (an unconfirmed place is given up)."""
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    bot.clock.set(WINDOW_START - timedelta(hours=24))
    await jobs.run_due(bot.application)
    for person in (first, second):
        await bot.press_label(person, "Confirm")
    return coordinator, first, second, code


async def assignment_of(bot, person):
    member = await bot.member(person)
    async with bot.store.read() as uow:
        return next(a for a in await uow.runs.live_assignments_of_member(member.id))


def alerts(bot, person, prefix: str) -> list[str]:
    return [text for text in bot.texts(person) if text.startswith(prefix)]


async def test_a_missed_check_in_alerts_at_once_freezes_and_alerts_again_later(bot):
    # Given two volunteers on a run; the second says "I'm safe" after the window, the first says nothing
    coordinator, first, second, code = await confirmed_run(bot)
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    await bot.press_label(second, "I'm safe")
    first_member = await bot.member(first)

    # When the grace period (4 h) has not quite passed, nothing happens
    bot.clock.set(WINDOW_END + timedelta(hours=4) - timedelta(minutes=1))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Missed check-in") == []

    # When it has, coordinators hear at once, by pseudonym, and the first volunteer is frozen
    bot.clock.set(WINDOW_END + timedelta(hours=4))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Missed check-in") == [
        f"Missed check-in: {first_member.pseudonym}, task {code}. Their account is frozen."]
    frozen = await bot.member(first)
    assert frozen.status is MemberStatus.FROZEN and frozen.missed_checkins == 1
    assert (await bot.member(second)).status is MemberStatus.ACTIVE
    # the frozen volunteer's command menu falls back to the strangers' one (only /start)
    assert [call for call in bot.api.calls_to("deleteMyCommands")
            if (call.params.get("scope") or {}).get("chat_id") == first.chat_id]
    # And whoever holds the first volunteer's phone learns nothing more, not even from an old Details button
    old_details = [data for text, data in bot.api.buttons(first.chat_id) if text.startswith("Report")]
    await bot.send(first, "/myruns")
    assert bot.last_text(first) == NEUTRAL
    before = len(bot.texts(first))
    for data in old_details:
        await bot.press(first, data)
    assert len(bot.texts(first)) == before
    # And /board shows the missed check-in at the top
    await bot.send(coordinator, "/board")
    assert bot.last_text(coordinator).splitlines()[1] == f"⚠ Missed check-in: {first_member.pseudonym}, task {code}."

    # When a further 2 h pass with no check-in, a second alert; then nothing more
    bot.clock.advance(timedelta(hours=2))
    await jobs.run_due(bot.application)
    bot.clock.advance(timedelta(hours=5))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Still no check-in") == [
        f"Still no check-in: {first_member.pseudonym}, task {code}."]
    assert len(alerts(bot, coordinator, "Missed check-in")) == 1

    # When a coordinator has heard from them and reinstates them, the board no longer raises it
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, first_member.pseudonym)
    await bot.press_label(coordinator, "Reinstate")
    await bot.send(coordinator, "/board")
    assert "Missed check-in" not in bot.last_text(coordinator)


async def test_a_report_is_the_check_in_and_nobody_is_frozen(bot):
    coordinator, first, second, code = await confirmed_run(bot)
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    await bot.press_label(first, "Report")
    await bot.press_label(first, "Тихая Сосна")
    await bot.press_label(first, "Refused")
    await bot.press_label(first, "Item not allowed")
    await bot.send(first, "Не приняли гречку — Canary-Note-9")
    assert "Everything on" in bot.last_text(first)
    await bot.press_label(second, "I'm safe")
    bot.clock.set(WINDOW_END + timedelta(hours=8))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Missed check-in") == []
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        (parcel,) = await uow.runs.parcels_of(run.id)
        refusals = await uow.facilities.refusals(run.facility_id)
        needs = await uow.needs.list()
    assert run.status.value == "failed" and parcel.outcome_reason == "item_not_allowed"
    assert parcel.outcome_note == "Не приняли гречку — Canary-Note-9"
    assert [refusal.reason for refusal in refusals] == ["item_not_allowed"]
    assert {need.status.value for need in needs} == {"open"}  # back for a later week
    for person in (first, second):
        assert (await bot.member(person)).status is MemberStatus.ACTIVE


async def test_money_paid_in_is_reported_but_the_wait_for_a_parcel_goes_on(bot):
    """Money alone is not a parcel: its needs are met, the prisoner still counts as waiting for one."""
    coordinator, first, second, code = await confirmed_run(bot)
    async with bot.store.write() as uow:
        await uow.session.run("UPDATE parcels SET categories = 'money', weight_g = 0")
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    await bot.press_label(first, "Report")
    await bot.press_label(first, "Тихая Сосна")
    await bot.press_label(first, "Delivered")
    assert "Everything on" in bot.last_text(first)
    async with bot.store.read() as uow:
        (prisoner,) = await uow.prisoners.list()
        needs = await uow.needs.list()
    assert {need.status.value for need in needs} == {"fulfilled"}
    assert prisoner.last_parcel_on is None


async def test_someone_elses_report_and_details_buttons_and_reporting_twice_change_nothing(bot):
    coordinator, first, second, code = await confirmed_run(bot)
    await bot.send(second, "/myruns")  # a Details button kept from before the window ended
    second_details = next(data for text, data in bot.api.buttons(second.chat_id) if text.startswith("Details"))
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    first_buttons = dict((text.split(" ")[0], data) for text, data in bot.api.buttons(first.chat_id))
    # A foreign token (shown to the first volunteer) pressed by the second: the token is bound to its member
    before = len(bot.texts(second))
    await bot.press(second, first_buttons["Report"])
    assert len(bot.texts(second)) == before
    # The first reports the parcel delivered; replaying the outcome, or reporting again, changes nothing
    await bot.press_label(first, "Report")
    await bot.press_label(first, "Тихая Сосна")
    delivered = [data for text, data in bot.api.buttons(first.chat_id) if text == "Delivered"][0]
    partly = [data for text, data in bot.api.buttons(first.chat_id) if text == "Partly"][0]
    await bot.press(first, delivered)
    await bot.press(first, partly)  # a second outcome for the same parcel
    assert bot.last_text(first) in ("This button has expired. Send the command again.",
                                    "This parcel is already reported.", "This is no longer available.") \
        or "Everything on" in bot.last_text(first)
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        (parcel,) = await uow.runs.parcels_of(run.id)
    reporter = await bot.member(first)
    assert parcel.outcome.value == "delivered" and reporter.runs_done == 1
    # The second volunteer's Details after the run is closed: not offered, and an old button gets nothing
    await bot.send(second, "/myruns")
    assert not any(text.startswith("Details") for text, _ in bot.api.buttons(second.chat_id))
    await bot.press(second, second_details)
    assert bot.last_text(second) == "The details are not available for this task."


async def test_in_lockdown_jobs_send_nothing_to_volunteers_and_catch_up_afterwards(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await bot.send(coordinator, "/lockdown")
    bot.clock.set(WINDOW_END - timedelta(hours=4) - timedelta(hours=24))  # the reminder falls due
    await jobs.run_due(bot.application)
    for person in (first, second):
        assert alerts(bot, person, "Reminder for tomorrow") == []
    await bot.send(coordinator, "/lockdown off")
    bot.clock.advance(timedelta(minutes=16))
    await jobs.run_due(bot.application)
    for person in (first, second):
        assert len(alerts(bot, person, "Reminder for tomorrow")) == 1
    assert Role.COORDINATOR  # coordinators keep being served throughout


async def test_details_are_not_shown_once_the_window_has_closed(bot):
    """A run whose volunteers only said "I'm safe" stays published (nobody reported its parcels): its
    details must not come back from a phone that changed hands later."""
    from tests.test_journey_runs import PRISONER_NAME

    coordinator, first, second, code = await confirmed_run(bot)
    bot.clock.set(WINDOW_END - timedelta(minutes=5))
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Details")
    assert PRISONER_NAME in bot.last_text(first)  # still inside the window: shown
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    for person in (first, second):
        await bot.press_label(person, "I'm safe")
    bot.clock.set(WINDOW_END + timedelta(days=1))  # (retention takes the whole run later: the test below)
    await jobs.run_due(bot.application)
    await bot.send(first, "/myruns")
    assert not any(text.startswith("Details") for text, _ in bot.api.buttons(first.chat_id))
    kept = await buttons.issue(bot.store, (await bot.member(first)).id, [[buttons.Choice(
        "x", "runs.details", {"assignment": (await assignment_of(bot, first)).id})]], ttl_hours=1)
    await bot.press(first, kept[0][0][1])  # a button from a phone that changed hands, say
    assert bot.last_text(first) == "The details are not available for this task."
    assert not any(PRISONER_NAME in text for text in bot.texts(first)[-3:])


async def test_only_a_family_whose_request_was_accepted_hears_that_a_parcel_went_in(bot):
    """Anyone can file a request naming any prisoner; a declined one must not learn when parcels go in."""
    from bot.domain import RequestDetails, RequestStatus

    coordinator, first, second, code = await confirmed_run(bot)
    impostor = await bot.join(Role.FAMILY, name="Выдуманы Сваяк")
    impostor_id = (await bot.member(impostor)).id
    async with bot.store.write() as uow:
        (prisoner,) = await uow.prisoners.list()
        request = await uow.requests.add(impostor_id, RequestDetails(
            full_name="Янина Канарейкина", birth_year=1987, facility_other="Valadarka", categories=("food",)))
        await uow.requests.link(request.id, prisoner.id)
        await uow.requests.close(request.id, RequestStatus.DECLINED, "cannot_verify")
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    await bot.press_label(first, "Report")
    await bot.press_label(first, "Тихая Сосна")
    await bot.press_label(first, "Delivered")
    assert not any("parcel was handed in" in text for text in bot.texts(impostor))


async def test_a_lockdown_over_the_check_in_deadline_freezes_nobody(bot):
    """Volunteers cannot check in while only coordinators are served: the deadline waits for service to
    come back (and the report prompt to reach them), then a grace period more."""
    coordinator, first, second, code = await confirmed_run(bot)
    await bot.send(coordinator, "/lockdown")
    bot.clock.set(WINDOW_END + timedelta(hours=4, minutes=1))  # past the deadline, still locked down
    await jobs.run_due(bot.application)
    bot.clock.advance(timedelta(hours=6))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Missed check-in") == []
    assert (await bot.member(first)).status is MemberStatus.ACTIVE

    await bot.send(coordinator, "/lockdown off")
    bot.clock.advance(timedelta(minutes=16))
    await jobs.run_due(bot.application)  # the report prompt, held back, goes out now
    await bot.press_label(second, "I'm safe")
    bot.clock.advance(timedelta(hours=4, minutes=1))
    await jobs.run_due(bot.application)
    # The one who said nothing after service came back is missed; the one who checked in is not
    missed = alerts(bot, coordinator, "Missed check-in")
    assert len(missed) == 1 and (await bot.member(first)).status is MemberStatus.FROZEN
    assert (await bot.member(second)).status is MemberStatus.ACTIVE


async def test_a_run_nobody_reported_ages_out_and_its_needs_open_again(bot):
    """Both said only "I'm safe": the run stays published, so retention takes it like a finished one (its
    contents gone from every file), and the needs it carried can be planned again."""
    from tests.canary import find_canaries

    coordinator, first, second, code = await confirmed_run(bot)
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    for person in (first, second):
        await bot.press_label(person, "I'm safe")
    async with bot.store.read() as uow:
        statuses = {row[0] for row in await uow.session.all("SELECT status FROM needs")}
    assert statuses == {"planned"}
    bot.clock.set(WINDOW_END + timedelta(days=bot.config.run_retention_days - 1))
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        assert len(await uow.runs.list()) == 1  # not before its time
    bot.clock.set(WINDOW_END + timedelta(days=bot.config.run_retention_days + 1))
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        assert await uow.runs.list() == []
        statuses = {row[0] for row in await uow.session.all("SELECT status FROM needs")}
        counts = await uow.retention.weekly_counts()
    assert statuses == {"open"}
    assert [(outcome, parcels) for _, _, outcome, parcels in counts] == [("none", 1)]  # only the count stays
    await bot.stop()
    assert find_canaries(bot.database_files, ["Canary-77", "ул. Канарейки"]) == []


async def test_lifting_a_lockdown_just_before_a_postponed_deadline_freezes_nobody(bot):
    """Lifted at window end + 8 h, a deadline postponed to 8 h 01: nobody had a prompt or a chance yet,
    so the deadline moves to a full grace period after the lift."""
    coordinator, first, second, code = await confirmed_run(bot)
    await bot.send(coordinator, "/lockdown")
    bot.clock.set(WINDOW_END + timedelta(hours=4, minutes=1))
    await jobs.run_due(bot.application)  # the deadline, postponed to window end + 8 h 01
    bot.clock.set(WINDOW_END + timedelta(hours=8))
    await bot.send(coordinator, "/lockdown off")
    bot.clock.advance(timedelta(minutes=16))
    await jobs.run_due(bot.application)
    assert alerts(bot, coordinator, "Missed check-in") == []
    assert (await bot.member(first)).status is MemberStatus.ACTIVE
    await bot.press_label(second, "I'm safe")  # the report prompt has reached them now
    bot.clock.advance(timedelta(hours=4))
    await jobs.run_due(bot.application)
    assert len(alerts(bot, coordinator, "Missed check-in")) == 1
    assert (await bot.member(first)).status is MemberStatus.FROZEN
    assert (await bot.member(second)).status is MemberStatus.ACTIVE


async def test_details_on_their_way_while_the_run_is_called_off_are_taken_back(bot, monkeypatch):
    """The call-off's cleanup runs before a details message in flight is tracked; the sender checks
    once more after tracking it and deletes it at once."""
    from bot.services import details as detail_service
    from bot.services import runs as run_service
    from tests.test_journey_runs import PRISONER_NAME

    coordinator, first, second, code = await confirmed_run(bot)
    coordinator_member = await bot.member(coordinator)
    track = detail_service.track

    async def called_off_meanwhile(store, details, chat_id, message_id):
        await run_service.call_off(store, coordinator_member, details.run_id)  # commits in between
        await track(store, details, chat_id, message_id)

    monkeypatch.setattr(detail_service, "track", called_off_meanwhile)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Details")
    sent = [call.result["message_id"] for call in bot.api.calls_to("sendMessage", chat_id=first.chat_id)
            if PRISONER_NAME in call.params["text"]]
    assert sent[-1] in bot.api.deleted_ids(first.chat_id)
    assert bot.last_text(first) == "The details are not available for this task."
