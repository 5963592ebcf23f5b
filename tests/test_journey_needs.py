"""Prisoners and needs journeys: add, the allowance, needs that fit and that do not, transfer, release,
"not reached", the fundraisers' list, hostile input, and that nobody but coordinators gets anything."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest

from bot.clock import to_db
from bot.domain import FacilityKind, FacilityRules, MemberStatus, NeedCategory, NeedStatus, PrisonerStatus, Role
from bot.services import prisoners as prisoner_service
from storage.repositories.base import new_id
from tests.canary import find_canaries

UNKNOWN = "I did not understand that."


@pytest.fixture
def config(config):
    """These journeys type many answers in a minute of frozen test time; the per-minute limit is tested elsewhere."""
    return dataclasses.replace(config, commands_per_minute=10_000)


async def seed_facility(bot, name="IK-4 Gomel", area="Gomel", **rules):
    async with bot.store.write() as uow:
        area_row = await uow.areas.by_name(area) or await uow.areas.add(area)
        return await uow.facilities.add(kind=FacilityKind.COLONY, name=name, address="Street 3", area_id=area_row.id,
                                        rules=FacilityRules(**rules), effective_from=date(2026, 1, 1))


async def seed_delivered(bot, prisoner_id, facility_id, day: date, weight_g=5000, categories=("food",)):
    """A delivered parcel, as the runs feature records it."""
    async with bot.store.write() as uow:
        run_id = new_id()
        await uow.session.run(
            "INSERT INTO runs (id, code, facility_id, window_start, window_end, places, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, 1, 'done', ?)",
            (run_id, f"R-{run_id % 100000}", facility_id, to_db(bot.clock.now()), to_db(bot.clock.now()),
             to_db(bot.clock.now())),
        )
        await uow.session.run(
            "INSERT INTO parcels (id, run_id, prisoner_id, weight_g, categories, outcome, delivered_on)"
            " VALUES (?, ?, ?, ?, ?, 'delivered', ?)",
            (new_id(), run_id, prisoner_id, weight_g, ",".join(categories), day.isoformat()),
        )
        await uow.prisoners.set_last_parcel_on(prisoner_id, day)


async def add_prisoner(bot, coordinator, name="Алена Тэставая", year="1979", facility="IK-4 Gomel", regime="general"):
    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Add")
    await bot.send(coordinator, name)
    await bot.send(coordinator, year)
    await bot.press_label(coordinator, facility)
    await bot.press_label(coordinator, "Sentenced" if regime else "Pre-trial")
    if regime:
        await bot.send(coordinator, regime)
    async with bot.store.read() as uow:
        return next(p for p in await uow.prisoners.list() if p.full_name == name)


async def post_need(bot, coordinator, prisoner, category="Food", details="-", weight="2", urgency="Normal", due="-"):
    await bot.send(coordinator, "/needs")
    await bot.press_label(coordinator, "Post a need")
    await bot.send(coordinator, prisoner.alias)
    await bot.press_label(coordinator, category)
    await bot.send(coordinator, details)
    await bot.send(coordinator, weight)
    await bot.press_label(coordinator, urgency)
    await bot.send(coordinator, due)
    return bot.last_text(coordinator)


async def test_a_coordinator_adds_a_prisoner_posts_needs_that_fit_and_one_that_does_not(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    facility = await seed_facility(bot, parcels_per_year=6, parcels_per_year_by_regime={"strict": 2},
                                   goods_parcel_only_categories=("hygiene",))
    prisoner = await add_prisoner(bot, coordinator, regime="strict")
    assert prisoner.alias in bot.last_text(coordinator)
    assert prisoner.regime == "strict" and prisoner.facility_id == facility.id and prisoner.birth_year == 1979
    # The typed name and year left the chat once stored.
    deleted = set(bot.api.deleted_ids(coordinator.chat_id))
    assert len(deleted) == 2

    fits = await post_need(bot, coordinator, prisoner, category="Food", weight="3.5", due="24.12")
    assert "posted" in fits and "Warning" not in fits
    pads = await post_need(bot, coordinator, prisoner, category="Hygiene", details="pads", weight="1")
    assert "posted" in pads and "goods parcel" in pads

    await seed_delivered(bot, prisoner.id, facility.id, date(2026, 3, 1))
    await seed_delivered(bot, prisoner.id, facility.id, date(2026, 6, 1))
    full = await post_need(bot, coordinator, prisoner, category="Vitamins", weight="0.5")
    assert "No parcels left this year" in full and "01.01.2027" in full

    async with bot.store.read() as uow:
        needs = await uow.needs.list(prisoner_id=prisoner.id)
    assert sorted((n.category.value, n.weight_g, n.status) for n in needs) == [
        ("food", 3500, NeedStatus.OPEN), ("hygiene", 1000, NeedStatus.OPEN), ("vitamins", 500, NeedStatus.OPEN)]
    assert next(n for n in needs if n.category.value == "food").due_on == date(2026, 12, 24)


async def test_money_is_not_weighed_and_uses_none_of_the_allowance(bot):
    """Money is paid into the prison account: no weight is asked, none is counted, none is shown."""
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot, kg_per_month=5)
    prisoner = await add_prisoner(bot, coordinator)
    await post_need(bot, coordinator, prisoner, category="Food", weight="5")
    await bot.send(coordinator, "/needs")
    await bot.press_label(coordinator, "Post a need")
    await bot.send(coordinator, prisoner.alias)
    await bot.press_label(coordinator, "Money to the prison account")
    assert "How much" in bot.last_text(coordinator) and "weigh" not in bot.last_text(coordinator)
    await bot.send(coordinator, "200 BYN for the shop")
    assert "How urgent" in bot.last_text(coordinator), "straight on: no weight to ask for"
    await bot.press_label(coordinator, "Normal")
    await bot.send(coordinator, "-")
    posted = bot.last_text(coordinator)
    assert "posted" in posted and "Warning" not in posted, "the month's 5 kg are spent on food, not on money"

    async with bot.store.read() as uow:
        needs = await uow.needs.list(prisoner_id=prisoner.id)
    assert sorted((n.category.value, n.weight_g) for n in needs) == [("food", 5000), ("money", 0)]
    await bot.send(coordinator, "/needs")
    [money_line] = [line for line in bot.last_text(coordinator).splitlines() if "Money" in line]
    assert "kg" not in money_line and prisoner.alias in money_line
    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, prisoner.alias)
    [card_line] = [line for line in bot.last_text(coordinator).splitlines() if "Money" in line]
    assert "kg" not in card_line
    # How much is in the details: shown when the need is tapped, silently, and gone within a day
    await bot.send(coordinator, "/needs")
    await bot.press_label(coordinator, f"{prisoner.alias} · Money")
    assert "Details: 200 BYN for the shop" in bot.last_text(coordinator)
    sent = bot.api.calls_to("sendMessage", chat_id=coordinator.chat_id)[-1]
    assert sent.params["disable_notification"] is True
    member = await bot.member(coordinator)
    async with bot.store.read() as uow:
        tracked = [m for m in await uow.messages.for_member(member.id) if m.kind == "need_details"]
    assert [m.message_id for m in tracked] == [sent.result["message_id"]]
    assert tracked[0].delete_after == bot.clock.now() + timedelta(hours=24)


async def test_the_card_shows_the_allowance_and_is_audited(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    facility = await seed_facility(bot, "SIZO-1 Minsk", "Minsk", kg_per_month=30)
    prisoner = await add_prisoner(bot, coordinator, name="Zoryana Canary", facility="SIZO-1 Minsk", regime="")
    await seed_delivered(bot, prisoner.id, facility.id, date(2026, 11, 5), weight_g=12_500)
    await bot.send(coordinator, "/prisoners")
    listing = bot.last_text(coordinator)
    assert prisoner.alias in listing and "Zoryana" not in listing
    await bot.press_label(coordinator, prisoner.alias)
    card = bot.last_text(coordinator)
    assert "Zoryana Canary" in card and "17.5 kg left this month" in card and "05.11.2026" in card
    assert bot.api.calls_to("sendMessage", chat_id=coordinator.chat_id)[-1].params["disable_notification"] is True
    async with bot.store.read() as uow:
        actions = [(entry.action, entry.subject) for entry in await uow.audit.recent()]
    assert ("prisoner.viewed", prisoner.alias) in actions


async def test_transfer_keeps_history_and_release_closes_needs_and_drafts(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    gomel = await seed_facility(bot)
    zarechye = await seed_facility(bot, "IK-24 Zarechye", "Gomel region")
    prisoner = await add_prisoner(bot, coordinator)
    await post_need(bot, coordinator, prisoner)
    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, prisoner.alias)
    await bot.press_label(coordinator, "Transfer")
    await bot.press_label(coordinator, "IK-24 Zarechye")
    assert "moved" in bot.last_text(coordinator)
    async with bot.store.write() as uow:
        moved = await uow.prisoners.get(prisoner.id)
        history = await uow.prisoners.transfers(prisoner.id)
        [need] = await uow.needs.list(prisoner_id=prisoner.id)
        run_id = new_id()
        await uow.session.run(
            "INSERT INTO runs (id, code, facility_id, window_start, window_end, places, status, created_at)"
            " VALUES (?, 'R-DRAFT', ?, ?, ?, 1, 'draft', ?)",
            (run_id, zarechye.id, to_db(bot.clock.now()), to_db(bot.clock.now()), to_db(bot.clock.now())))
        await uow.session.run("INSERT INTO parcels (id, run_id, prisoner_id, weight_g, categories) VALUES (?, ?, ?, 1,"
                              " 'food')", (new_id(), run_id, prisoner.id))
    assert moved.facility_id == zarechye.id and need.status is NeedStatus.OPEN
    assert [(t.from_facility_id, t.to_facility_id, t.moved_on) for t in history] == [
        (gomel.id, zarechye.id, date(2026, 11, 23))]

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, prisoner.alias)
    await bot.press_label(coordinator, "Release")
    await bot.press_label(coordinator, "Yes, released")
    assert "1 open need(s) closed" in bot.last_text(coordinator)
    async with bot.store.read() as uow:
        released = await uow.prisoners.get(prisoner.id)
        [need] = await uow.needs.list(prisoner_id=prisoner.id)
        parcels = await uow.session.value("SELECT count(*) FROM parcels WHERE prisoner_id = ?", (prisoner.id,))
    assert released.status is PrisonerStatus.RELEASED and need.status is NeedStatus.CANCELLED and parcels == 0
    await bot.send(coordinator, "/prisoners")
    assert prisoner.alias not in bot.last_text(coordinator)  # lists show those still inside


async def test_not_reached_lists_never_reached_first_then_longest_waiting(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    facility = await seed_facility(bot)
    async with bot.store.write() as uow:
        people = {}
        for key in ("recent", "old", "older", "never_late", "never_early", "no_needs"):
            people[key] = await prisoner_service.create(uow, None, full_name=f"Person {key}", birth_year=1980,
                                                        facility_id=facility.id)
    bot.clock.set(bot.clock.now() - timedelta(days=30))
    async with bot.store.write() as uow:
        await uow.needs.add(prisoner_id=people["never_early"].id, category=NeedCategory.FOOD,
                            weight_g=1000)
    bot.clock.advance(timedelta(days=30))
    async with bot.store.write() as uow:
        for key in ("recent", "old", "older", "never_late"):
            await uow.needs.add(prisoner_id=people[key].id, category=NeedCategory.FOOD,
                                weight_g=1000)
    await seed_delivered(bot, people["recent"].id, facility.id, date(2026, 11, 10))
    await seed_delivered(bot, people["old"].id, facility.id, date(2026, 10, 1))
    await seed_delivered(bot, people["older"].id, facility.id, date(2026, 8, 15))
    await seed_delivered(bot, people["no_needs"].id, facility.id, date(2026, 1, 15))

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Not reached")
    lines = bot.last_text(coordinator).splitlines()[1:]
    order = [next(key for key, p in people.items() if p.alias in line) for line in lines]
    assert order == ["never_early", "never_late", "older", "old"]
    assert "never reached" in lines[0] and "15.08.2026" in lines[2]


async def test_the_fundraisers_list_has_counts_by_category_and_area_and_no_names(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot)
    await seed_facility(bot, "SIZO-1 Minsk", "Minsk")
    first = await add_prisoner(bot, coordinator)
    second = await add_prisoner(bot, coordinator, name="Maryla Canary", facility="SIZO-1 Minsk", regime="")
    await post_need(bot, coordinator, first, category="Food")
    await post_need(bot, coordinator, first, category="Hygiene")
    await post_need(bot, coordinator, second, category="Food")
    await bot.send(coordinator, "/needs")
    await bot.press_label(coordinator, "List for fundraisers")
    text = bot.last_text(coordinator)
    assert "Food · Gomel: 1" in text and "Food · Minsk: 1" in text and "Hygiene · Gomel: 1" in text
    for secret in (first.alias, second.alias, "Maryla", "Алена", "IK-4"):
        assert secret not in text


async def test_hostile_input_keeps_each_step(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot)
    prisoner = await add_prisoner(bot, coordinator)
    await bot.send(coordinator, "/needs")
    await bot.press_label(coordinator, "Post a need")
    await bot.send(coordinator, "x")
    assert "at least 2" in bot.last_text(coordinator)
    await bot.send(coordinator, prisoner.alias)
    await bot.send(coordinator, "pizza")  # an unknown category typed instead of pressed
    assert "buttons" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Food")
    await bot.send(coordinator, "z" * 501)
    assert "500" in bot.last_text(coordinator)
    await bot.send(coordinator, "buckwheat")
    for bad in ("0", "31", "-1", "heavy", "0.05"):
        await bot.send(coordinator, bad)
        assert "from 0.1 to 30" in bot.last_text(coordinator)
    await bot.send(coordinator, "30")
    await bot.press_label(coordinator, "Urgent")
    for bad in ("tomorrow", "31.02", "1.1.2020", "12/2026"):
        await bot.send(coordinator, bad)
        assert "Please send the date as 25.12 or 25.12.2026" in bot.last_text(coordinator)
    assert bot.last_text(coordinator).endswith("25.12.2026\nOr send /cancel to stop.")  # not "2026 Or send"
    await bot.send(coordinator, "/cancel")
    async with bot.store.read() as uow:
        assert await uow.needs.list() == []

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Add")
    for bad in ("A", "Й" * 121, "12345"):
        await bot.send(coordinator, bad)
        assert "full name" in bot.last_text(coordinator)
    await bot.send(coordinator, "Valid Name")
    for bad in ("1919", "2013", "19x5", ""):
        if bad:
            await bot.send(coordinator, bad)
            assert "from 1920 to 2012" in bot.last_text(coordinator)


async def test_volunteers_and_families_get_nothing_about_prisoners(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot)
    prisoner = await add_prisoner(bot, coordinator, name="Xylander Canary")
    await bot.send(coordinator, "/prisoners")
    token = dict(bot.api.buttons(coordinator.chat_id))[prisoner.alias]
    for role in (Role.VOLUNTEER, Role.FAMILY):
        other = await bot.join(role)
        member = await bot.member(other)
        async with bot.store.write() as uow:
            await uow.members.set_status(member.id, MemberStatus.ACTIVE)
        for command in ("/prisoners", "/needs"):
            await bot.send(other, command)
            assert UNKNOWN in bot.last_text(other)
        calls = await bot.press(other, token)
        assert not [c for c in calls if c.method == "sendMessage"]
        assert all("Xylander" not in text and prisoner.alias not in text for text in bot.texts(other))


async def test_allowances_for_many_prisoners_take_a_constant_number_of_queries(bot):
    facility = await seed_facility(bot, kg_per_month=30, parcels_per_year=4)
    async with bot.store.write() as uow:
        ids = [(await prisoner_service.create(uow, None, full_name=f"P {i}", birth_year=1980,
                                              facility_id=facility.id)).id for i in range(60)]
    for prisoner_id in ids[:10]:
        await seed_delivered(bot, prisoner_id, facility.id, date(2026, 11, 2), weight_g=10_000)
    async with bot.store.read() as uow:
        calls = []
        original = uow.session.all

        async def counting(sql, params=()):
            calls.append(sql)
            return await original(sql, params)

        uow.session.all = counting
        found = await prisoner_service.allowances(uow, ids, date(2026, 11, 23))
    assert len(calls) == 3 and len(found) == 60
    assert found[ids[0]].kg_left_month == 20 and found[ids[0]].parcels_left_year == 3
    assert found[ids[-1]].kg_left_month == 30 and found[ids[-1]].parcels_left_year == 4


async def test_prisoner_names_and_needs_details_are_sealed_on_disk(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot)
    prisoner = await add_prisoner(bot, coordinator, name="Сцяпан Канарэйка", year="1966", regime="Режым-Ш")
    await post_need(bot, coordinator, prisoner, details="Вітаміны D3 canary-need")
    await bot.stop()
    assert find_canaries(bot.database_files, ["Сцяпан", "Канарэйка", "Режым-Ш", "canary-need", prisoner.alias,
                                              json.dumps({"birth_year": 1966})[1:-1]]) == []


async def open_card(bot, coordinator, name: str) -> int:
    """Add a prisoner, open their card; the card message's id."""
    prisoner = await add_prisoner(bot, coordinator, name=name)
    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, prisoner.alias)
    return next(call.result["message_id"] for call in reversed(bot.api.calls_to("sendMessage"))
                if name in call.params.get("text", ""))


async def test_a_card_leaves_the_coordinators_chat_within_a_day_and_typed_names_at_once(bot):
    """The card carries a full name: the outbox deletes it after 24 h (and /lockdown at once). A name
    typed into the add flow leaves the chat even when it was refused."""
    from datetime import timedelta

    from schedules import jobs

    coordinator = await bot.join(Role.COORDINATOR)
    for job in bot.application.job_queue.get_jobs_by_name("due-work"):
        job.schedule_removal()
    await seed_facility(bot)
    card_id = await open_card(bot, coordinator, "Zoryana Canary")
    assert card_id not in bot.api.deleted_ids(coordinator.chat_id)
    bot.clock.advance(timedelta(hours=24, minutes=1))
    await jobs.run_due(bot.application)
    assert card_id in bot.api.deleted_ids(coordinator.chat_id)

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Add")
    before = len(bot.api.deleted_ids(coordinator.chat_id))
    await bot.send(coordinator, "Й" * 121)  # refused: too long, but a name all the same
    assert "full name" in bot.last_text(coordinator)
    assert len(bot.api.deleted_ids(coordinator.chat_id)) == before + 1
    await bot.send(coordinator, "Zoryana Canary, notes: " + "x" * 2100)  # refused before any step sees it
    assert "too long" in bot.last_text(coordinator)
    assert len(bot.api.deleted_ids(coordinator.chat_id)) == before + 2


async def test_lockdown_deletes_the_cards_coordinators_opened(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_facility(bot)
    card_id = await open_card(bot, coordinator, "Zoryana Canary")
    await bot.send(coordinator, "/lockdown")
    assert card_id in bot.api.deleted_ids(coordinator.chat_id)
