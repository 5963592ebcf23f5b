"""Family journeys: a family asks, its typed details leave the chat and never reach the disk in plain form;
a coordinator reviews (create or link a prisoner, turn into needs, decline); the family sees status only."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from bot.domain import FacilityKind, FacilityRules, MemberStatus, NeedStatus, RequestStatus, Role
from bot.services import prisoners as prisoner_service
from bot.services.retention import RetentionPolicy, run_retention
from tests.canary import find_canaries

UNKNOWN = "I did not understand that."
NOTICE = "There is an update on your request. Open /status."
WAITING = "A new request is waiting. Open /requests."


@pytest.fixture
def config(config):
    """These journeys type many answers in a minute of frozen test time; the per-minute limit is tested elsewhere."""
    return dataclasses.replace(config, commands_per_minute=10_000)


async def typed(bot, person, text) -> int:
    """Send a message as the person and return its message id (to check it is deleted later)."""
    update = bot.api.send_message(person.user_id, text, language_code=person.language, first_name=person.name)
    bot.enqueued += 1
    await bot._wait_processed()
    return update["message"]["message_id"]


def deleted(bot, person) -> set[int]:
    return set(bot.api.deleted_ids(person.chat_id))


async def seed_facility(bot, name="IK-4 Gomel", **rules):
    async with bot.store.write() as uow:
        area = await uow.areas.by_name("Gomel") or await uow.areas.add("Gomel")
        return await uow.facilities.add(kind=FacilityKind.COLONY, name=name, address="Street 3", area_id=area.id,
                                        rules=FacilityRules(**rules), effective_from=date(2026, 1, 1))


async def ask(bot, family, *, name="Ганна Канарэйка", year="1958", facility="IK-4 Gomel", other=None,
              categories=("Hygiene", "Vitamins"), text="canary-text pads size L", urgent=True, confirm=True):
    ids = []
    await bot.send(family, "/request")
    ids.append(await typed(bot, family, name))
    ids.append(await typed(bot, family, year))
    if other is None:
        await bot.press_label(family, facility)
    else:
        await bot.press_label(family, "Other")
        ids.append(await typed(bot, family, other))
    for category in categories:
        await bot.press_label(family, category)
    await bot.press_label(family, "Next")
    ids.append(await typed(bot, family, text))
    await bot.press_label(family, "Urgent" if urgent else "wait")
    if confirm:
        await bot.press_label(family, "Send the request")
    return ids


async def test_a_family_asks_a_coordinator_accepts_and_the_allowance_shows_what_is_left(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await seed_facility(bot, kg_per_month=30, parcels_per_year=6)
    sent_before = len(bot.texts(coordinator))

    ids = await ask(bot, family, confirm=False)
    summary = bot.last_text(family)
    assert "Ганна Канарэйка" in summary and "1958" in summary and "canary-text" in summary
    summary_send = bot.api.calls_to("sendMessage", chat_id=family.chat_id)[-1]
    assert summary_send.params.get("protect_content") in (True, "true", "True")
    assert summary_send.params.get("disable_notification") is True  # it carries the details: silent
    family_member = await bot.member(family)
    async with bot.store.read() as uow:
        [tracked] = [m for m in await uow.messages.for_member(family_member.id) if m.kind == "request_summary"]
    assert tracked.delete_after == bot.clock.now() + timedelta(hours=1)
    await bot.press_label(family, "Send the request")

    assert set(ids) <= deleted(bot, family), "every typed detail leaves the chat"
    assert summary_send.result["message_id"] in deleted(bot, family), "the summary goes once confirmed"
    assert "a coordinator will look at it" in bot.last_text(family)
    assert bot.texts(coordinator)[sent_before:] == [WAITING]

    await bot.send(coordinator, "/requests")
    review = bot.last_text(coordinator)
    assert "Ганна Канарэйка" in review and "IK-4 Gomel" in review and "canary-text" in review
    assert bot.api.calls_to("sendMessage", chat_id=coordinator.chat_id)[-1].params["disable_notification"] is True
    async with bot.store.read() as uow:  # who saw the family's words, and when: audited like a prisoner card
        viewed = [(entry.action, entry.actor_id, entry.subject) for entry in await uow.audit.recent()
                  if entry.action == "request.viewed"]
    assert viewed == [("request.viewed", (await bot.member(coordinator)).id,
                       f"request of {bot.clock.now():%d.%m.%Y}")]
    await bot.press_label(coordinator, "Create a prisoner")
    assert "Added as" in bot.texts(coordinator)[-2]
    async with bot.store.read() as uow:  # the card came again (a reveal); creating itself showed no name
        assert [e.action for e in await uow.audit.recent()].count("request.viewed") == 2
    await bot.press_label(coordinator, "Turn into needs")
    await bot.press_label(coordinator, "Weight per need")
    for bad in ("0", "31", "much"):
        await bot.send(coordinator, bad)
        assert "from 0.1 to 30" in bot.last_text(coordinator)
    await bot.send(coordinator, "2.5")
    await bot.press_label(coordinator, "Money to the prison account")  # one more kind: paid in, weighs nothing
    for kind in ("Hygiene", "Vitamins"):  # money alone: no weight to set
        await bot.press_label(coordinator, kind)
    assert not any("Weight per need" in label for label, _ in bot.api.buttons(coordinator.chat_id))
    for kind in ("Hygiene", "Vitamins"):
        await bot.press_label(coordinator, kind)
    await bot.press_label(coordinator, "Create the needs")
    assert "Needs created: 3." in bot.last_text(coordinator)
    assert bot.last_text(family) == NOTICE

    async with bot.store.read() as uow:
        [request] = await uow.requests.list()
        prisoner = await uow.prisoners.get(request.prisoner_id)
        needs = await uow.needs.list(prisoner_id=prisoner.id)
    assert request.status is RequestStatus.ACCEPTED
    assert prisoner.full_name == "Ганна Канарэйка" and prisoner.birth_year == 1958
    assert sorted((n.category.value, n.weight_g, n.urgency.value) for n in needs) == [
        ("hygiene", 2500, "urgent"), ("money", 0, "urgent"), ("vitamins", 2500, "urgent")]
    assert all(n.request_id == request.id and n.status is NeedStatus.OPEN for n in needs)

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, prisoner.alias)
    card = bot.last_text(coordinator)
    assert "30 kg left this month" in card and "6 parcels left this year" in card

    await bot.send(family, "/status")
    status = bot.last_text(family)
    assert "accepted" in status and prisoner.alias not in status and "IK-4" not in status

    await bot.stop()
    canaries = ["Ганна", "Канарэйка", "canary-text", "pads size L"]
    assert find_canaries(bot.database_files, canaries) == []
    for needle in canaries:
        assert needle not in bot.logs()


async def test_other_place_link_to_an_existing_prisoner_and_decline(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    facility = await seed_facility(bot)
    async with bot.store.write() as uow:
        existing = await prisoner_service.create(uow, None, full_name="Ганна Канарэйка", birth_year=1958,
                                                 facility_id=facility.id)
    ids = await ask(bot, family, other="Калонія canary-place", text="-", urgent=False)
    assert len(ids) == 4 and set(ids) <= deleted(bot, family)

    await bot.send(coordinator, "/requests")
    assert "Калонія canary-place" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Link to a prisoner")
    await bot.send(coordinator, "x")
    assert "at least 2" in bot.last_text(coordinator)
    await bot.send(coordinator, "канарэйка")
    await bot.press_label(coordinator, existing.alias)
    assert f"Linked to {existing.alias}" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Decline")
    await bot.press_label(coordinator, "Cannot verify")
    assert bot.last_text(family) == NOTICE
    await bot.send(family, "/status")
    assert "declined (cannot verify)" in bot.last_text(family)
    assert bot.last_text(family).endswith("You can send /request again at any time.")  # and what next
    async with bot.store.read() as uow:
        [request] = await uow.requests.list()
    assert request.status is RequestStatus.DECLINED and request.prisoner_id == existing.id
    await bot.stop()
    assert find_canaries(bot.database_files, ["Калонія", "canary-place"]) == []


async def test_a_family_withdraws_and_closed_requests_are_erased_after_retention(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await seed_facility(bot)
    await ask(bot, family)
    await ask(bot, family, name="Другая Асоба")  # two requests the same day: told apart by number
    await bot.send(family, "/status")
    assert [label for label, _ in bot.api.buttons(family.chat_id)] == [
        f"Withdraw request {n} ({bot.clock.now():%d.%m.%Y})" for n in (1, 2)]
    assert bot.last_text(family).splitlines()[0].startswith("1. Request of")
    await bot.press_label(family, "Withdraw request 2")
    assert "withdrawn" in bot.last_text(family)
    await bot.send(family, "/status")
    await bot.press_label(family, "Withdraw request")
    await bot.send(family, "/status")
    assert "withdrawn" in bot.last_text(family) and not bot.api.buttons(family.chat_id)[-1:] == ["Withdraw"]
    await bot.send(coordinator, "/requests")
    assert "No requests are waiting" in bot.last_text(coordinator)

    # The daily retention job, with the bot's own settings.
    policy = RetentionPolicy(request_days=bot.config.request_retention_days)
    assert (await run_retention(bot.store, policy))["requests"] == 0
    bot.clock.advance(timedelta(days=bot.config.request_retention_days, seconds=1))
    assert (await run_retention(bot.store, policy))["requests"] == 2
    async with bot.store.read() as uow:
        assert await uow.requests.list() == []


async def test_bad_values_stay_on_the_step_and_cancel_stores_nothing(bot):
    family = await bot.join(Role.FAMILY)
    await seed_facility(bot)
    await bot.send(family, "/request")
    bad_ids = []
    for bad in ("A", "Ж" * 121, "1234"):
        bad_ids.append(await typed(bot, family, bad))
        assert "full name" in bot.last_text(family)
    await typed(bot, family, "Марта Тэст")
    for bad in ("1900", "2020", "nineteen"):
        bad_ids.append(await typed(bot, family, bad))
        assert "from 1920 to 2012" in bot.last_text(family)
    await typed(bot, family, "1990")
    bad_ids.append(await typed(bot, family, "Gomel please"))  # typed where a button is expected
    assert "buttons" in bot.last_text(family)
    await bot.press_label(family, "IK-4 Gomel")
    await bot.press_label(family, "Next")  # nothing chosen yet: stays
    assert "What is needed" in bot.last_text(family)
    await bot.press_label(family, "Food")
    await bot.press_label(family, "Next")
    bad_ids.append(await typed(bot, family, "я" * 501))
    assert "500" in bot.last_text(family)
    bad_ids.append(await typed(bot, family, "Мама ў Гомелі, Ганна Канарэйка. " * 80))  # over the 2,000 any step takes
    assert "too long" in bot.last_text(family)
    assert set(bad_ids) <= deleted(bot, family), "even a refused value may carry details"
    await bot.send(family, "/cancel")
    assert "Nothing was saved" in bot.last_text(family)
    async with bot.store.read() as uow:
        counts = await uow.counts()
    assert counts["family_requests"] == 0 and counts["conversations"] == 0


async def test_the_flow_carries_on_when_telegram_refuses_a_deletion(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await seed_facility(bot)
    bot.api.inject_fault("deleteMessage", "500", count=50)
    await ask(bot, family)
    bot.api.clear_faults()
    assert "a coordinator will look at it" in bot.last_text(family)
    assert bot.last_text(coordinator) == WAITING


async def test_only_families_ask_and_only_coordinators_review(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    volunteer = await bot.join(Role.VOLUNTEER)
    member = await bot.member(volunteer)
    async with bot.store.write() as uow:
        await uow.members.set_status(member.id, MemberStatus.ACTIVE)
    await seed_facility(bot)
    await ask(bot, family)
    await bot.send(coordinator, "/requests")
    review_tokens = [data for _, data in bot.api.buttons(coordinator.chat_id)]
    await bot.send(family, "/status")
    withdraw_token = bot.api.buttons(family.chat_id)[0][1]

    for person in (family, volunteer):
        await bot.send(person, "/requests")
        assert UNKNOWN in bot.last_text(person)
        for token in review_tokens:
            calls = await bot.press(person, token)
            assert not [c for c in calls if c.method == "sendMessage"]
    for person in (coordinator, volunteer):
        await bot.send(person, "/request")
        assert UNKNOWN in bot.last_text(person)
        await bot.press(person, withdraw_token)
    await bot.send(volunteer, "/prisoners")
    assert UNKNOWN in bot.last_text(volunteer)
    assert all("Канарэйка" not in text for text in bot.texts(volunteer))
    async with bot.store.read() as uow:
        [request] = await uow.requests.list()
    assert request.status is RequestStatus.WAITING
