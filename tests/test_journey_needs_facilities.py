"""Facilities journeys: add and edit with rules; refusals become rules; others get nothing."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from bot.domain import FacilityKind, FacilityRules, HandoverWindow, MemberStatus, Role
from bot.i18n import weekday_from_name
from bot.services import inputs
from tests.canary import find_canaries

UNKNOWN = "I did not understand that."


@pytest.fixture
def config(config):
    """These journeys type many answers in a minute of frozen test time; the per-minute limit is tested elsewhere."""
    return dataclasses.replace(config, commands_per_minute=10_000)


async def add_facility(bot, coordinator, *, name="SIZO-1 Minsk", area="Minsk", new_area=True, kind="SIZO",
                       address="Volodarskogo 2", days=("Mon", "Wed"), hours="09:00-13:00", kg="30", parcels="-",
                       refused=(), goods=(), flags=(), notes="-"):
    """Walk the whole add flow by buttons and typed answers."""
    await bot.send(coordinator, "/facilities")
    await bot.press_label(coordinator, "Add a facility")
    await bot.press_label(coordinator, kind)
    if new_area:
        await bot.send(coordinator, area)
    else:
        await bot.press_label(coordinator, area)
    await bot.send(coordinator, name)
    await bot.send(coordinator, address)
    await bot.press_label(coordinator, "1")
    for day in days:
        await bot.press_label(coordinator, day)
    await bot.press_label(coordinator, "Next")
    await bot.send(coordinator, hours)
    await bot.send(coordinator, kg)
    await bot.send(coordinator, parcels)
    for category in refused:
        await bot.press_label(coordinator, category)
    await bot.press_label(coordinator, "Next")
    for category in goods:
        await bot.press_label(coordinator, category)
    await bot.press_label(coordinator, "Next")
    for flag in flags:
        await bot.press_label(coordinator, flag)
    await bot.press_label(coordinator, "Next")
    await bot.send(coordinator, notes)
    await bot.press_label(coordinator, "Save")


async def test_a_coordinator_adds_a_facility_with_rules_and_sees_them(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator, name="IK-4 Gomel", area="Gomel", kind="Colony", kg="-",
                       parcels="6, strict 4", goods=("Hygiene",), flags=("Relatives only",),
                       notes="Pads only in the goods parcel since 12.07.2024")
    assert "Saved: IK-4 Gomel" in bot.last_text(coordinator)

    async with bot.store.read() as uow:
        [facility] = await uow.facilities.list()
        area = await uow.areas.get(facility.area_id)
        history = await uow.facilities.rules_history(facility.id)
    assert area.name == "Gomel" and facility.kind.value == "colony"
    rules = facility.rules
    assert rules.parcels_per_year == 6 and rules.parcels_per_year_by_regime == {"strict": 4}
    assert rules.goods_parcel_only_categories == ("hygiene",) and rules.relatives_only
    assert [(w.weekday, w.start, w.end) for w in rules.windows] == [(0, "09:00", "13:00"), (2, "09:00", "13:00")]
    assert rules.confirmed_on == bot.clock.now().date() and len(history) == 1

    await bot.send(coordinator, "/facilities")
    assert "IK-4 Gomel" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "IK-4 Gomel")
    view = bot.last_text(coordinator)
    assert "strict 4" in view and "Hygiene" in view and "Relatives only" in view


async def test_editing_the_rules_adds_a_version_from_today_and_keeps_the_old_one(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator)
    bot.clock.advance(timedelta(days=10))
    await bot.send(coordinator, "/facilities")
    await bot.press_label(coordinator, "SIZO-1 Minsk")
    await bot.press_label(coordinator, "Edit")
    await bot.press_label(coordinator, "Change kg per month")
    await bot.send(coordinator, "25")
    await bot.press_label(coordinator, "Change places")
    await bot.press_label(coordinator, "2")
    await bot.press_label(coordinator, "Save")
    async with bot.store.read() as uow:
        [facility] = await uow.facilities.list()
        history = await uow.facilities.rules_history(facility.id)
    assert facility.places == 2 and facility.rules.kg_per_month == 25
    assert [(day, rules.kg_per_month) for day, rules in history] == [
        (date(2026, 11, 23), 30), (date(2026, 12, 3), 25)]


async def test_bad_values_keep_the_flow_on_the_same_step(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await bot.send(coordinator, "/facilities")
    await bot.press_label(coordinator, "Add a facility")
    await bot.send(coordinator, "a prison please")  # a button step: typing gets a pointer, not a crash
    assert "buttons" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "SIZO")
    await bot.send(coordinator, "M")
    assert "2 to 40" in bot.last_text(coordinator)
    await bot.send(coordinator, "Minsk")
    await bot.send(coordinator, "X" * 121)
    assert "2 to 120" in bot.last_text(coordinator)
    await bot.send(coordinator, "SIZO-1")
    await bot.send(coordinator, "Street 1")
    await bot.press_label(coordinator, "2")
    await bot.press_label(coordinator, "Tue")
    await bot.press_label(coordinator, "Next")
    for bad in ("9 to 1", "13:00-09:00", "25:00-26:00"):
        await bot.send(coordinator, bad)
        assert "09:00-13:00" in bot.last_text(coordinator)
    await bot.send(coordinator, "10:00-12:00")
    for bad in ("lots", "0", "-5", "nan"):
        await bot.send(coordinator, bad)
        assert "kg per month" in bot.last_text(coordinator).lower() or "kilograms" in bot.last_text(coordinator)
    await bot.send(coordinator, "/cancel")
    assert "Nothing was saved" in bot.last_text(coordinator)
    async with bot.store.read() as uow:
        assert await uow.facilities.list() == [] and await uow.areas.list() == []


async def test_a_refusal_report_becomes_a_rule(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator)
    async with bot.store.write() as uow:
        [facility] = await uow.facilities.list()
        await uow.facilities.add_refusal(facility.id, date(2026, 11, 20), "item_not_allowed", "vitamins in jars")
    await bot.send(coordinator, "/facilities")
    await bot.press_label(coordinator, "SIZO-1 Minsk")
    assert "vitamins in jars" in bot.last_text(coordinator) and "20.11.2026" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Turn into a rule")
    await bot.press_label(coordinator, "Vitamins")
    assert "Vitamins" in bot.last_text(coordinator)
    async with bot.store.read() as uow:
        [facility] = await uow.facilities.list()
        [refusal] = await uow.facilities.refusals(facility.id)
    assert facility.rules.refused_categories == ("vitamins",) and refusal.turned_into_rule


async def test_volunteers_and_families_get_nothing_from_facilities(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator)
    await bot.send(coordinator, "/facilities")
    token = dict(bot.api.buttons(coordinator.chat_id))["SIZO-1 Minsk"]
    for role in (Role.VOLUNTEER, Role.FAMILY):
        other = await bot.join(role)
        if role is Role.VOLUNTEER:
            member = await bot.member(other)
            async with bot.store.write() as uow:
                await uow.members.set_status(member.id, MemberStatus.ACTIVE)
        await bot.send(other, "/facilities")
        assert UNKNOWN in bot.last_text(other)
        calls = await bot.press(other, token)
        assert not [c for c in calls if c.method == "sendMessage"]
        assert "SIZO-1" not in " ".join(bot.texts(other))


async def test_facility_details_are_sealed_on_disk(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator, name="Калінаўка-7 Canary", area="Мазыр", address="вул. Канарэйкі 9",
                       notes="Rule canary Шчыгол")
    await bot.stop()
    assert find_canaries(bot.database_files, ["Калінаўка-7", "Мазыр", "Канарэйкі", "Шчыгол", "Rule canary"]) == []


async def test_editing_keeps_each_days_own_hours_until_hours_are_typed(bot):
    """A facility open at different hours on different days (as an import may set) keeps them through
    an edit of something else; typed hours then apply to every chosen day."""
    coordinator = await bot.join(Role.COORDINATOR)
    windows = (HandoverWindow(0, "09:00", "13:00"), HandoverWindow(5, "10:00", "17:00"))
    async with bot.store.write() as uow:
        area = await uow.areas.add("Akrestsin")
        await uow.facilities.add(kind=FacilityKind.TSIP_IVS, name="TsIP Akrestsina", address="Akrestsina 36",
                                 area_id=area.id, rules=FacilityRules(windows=windows, kg_per_month=5),
                                 effective_from=date(2026, 1, 1))

    async def edit(*steps) -> FacilityRules:
        await bot.send(coordinator, "/facilities")
        await bot.press_label(coordinator, "TsIP Akrestsina")
        await bot.press_label(coordinator, "Edit")
        for kind, value in steps:
            await (bot.press_label if kind == "press" else bot.send)(coordinator, value)
        await bot.press_label(coordinator, "Save")
        async with bot.store.read() as uow:
            [facility] = await uow.facilities.list()
        return facility.rules

    rules = await edit(("press", "Change kg per month"), ("send", "4"))
    assert rules.kg_per_month == 4 and rules.windows == windows
    rules = await edit(("press", "Change days"), ("press", "Wed"), ("press", "Next"))
    assert [(w.weekday, w.start, w.end) for w in rules.windows] == [
        (0, "09:00", "13:00"), (2, "09:00", "13:00"), (5, "10:00", "17:00")]
    rules = await edit(("press", "Change hours"), ("send", "08:00-12:00"))
    assert [(w.weekday, w.start, w.end) for w in rules.windows] == [
        (0, "08:00", "12:00"), (2, "08:00", "12:00"), (5, "08:00", "12:00")]


async def test_hours_can_differ_by_day_when_adding_and_editing(bot):
    """"Tue 09:00-13:00, Sat 10:00-17:00": each day its own hours; a span without a day is for the other
    chosen days; a named day becomes a handover day; day names in the member's language work too."""
    coordinator = await bot.join(Role.COORDINATOR)
    await add_facility(bot, coordinator, name="TsIP Akrestsina", days=("Tue", "Thu"),
                       hours="Tue 09:00-13:00, Sat 10:00-17:00; 14:00-16:00")
    assert "Saved: TsIP Akrestsina" in bot.last_text(coordinator)
    async with bot.store.read() as uow:
        [facility] = await uow.facilities.list()
    assert [(w.weekday, w.start, w.end) for w in facility.rules.windows] == [
        (1, "09:00", "13:00"), (3, "14:00", "16:00"), (5, "10:00", "17:00")]
    await bot.send(coordinator, "/facilities")
    await bot.press_label(coordinator, "TsIP Akrestsina")
    assert "Tue 09:00-13:00; Thu 14:00-16:00; Sat 10:00-17:00" in bot.last_text(coordinator)

    # A chosen day left without hours (and no span for the rest) is asked again, not dropped
    await bot.press_label(coordinator, "Edit")
    await bot.press_label(coordinator, "Change hours")
    await bot.send(coordinator, "Tue 09:00-13:00")
    assert "every chosen day" in bot.last_text(coordinator)
    # A span for "the other days" when every chosen day is named has nowhere to go: refused, not dropped
    await bot.send(coordinator, "Tue 09:00-13:00, Thu 09:00-12:00, Sat 10:00-14:00, 15:00-17:00")
    assert "or per day" in bot.last_text(coordinator)
    await bot.send(coordinator, "Mon 9:00-12:00, Tue 9:00-12:00, Tue 14:00-15:00, Thu 09:00-12:00, Sat 10:00-14:00")
    await bot.press_label(coordinator, "Save")
    async with bot.store.read() as uow:
        [facility] = await uow.facilities.list()
    assert [(w.weekday, w.start, w.end) for w in facility.rules.windows] == [
        (0, "09:00", "12:00"), (1, "09:00", "12:00"), (1, "14:00", "15:00"), (3, "09:00", "12:00"),
        (5, "10:00", "14:00")]


def test_weekday_names_in_russian_and_belarusian_are_understood():
    """The flow's example names days as the member's buttons do ("вт", "аў"); full names work too."""
    assert inputs.hours_by_day("вт 09:00-13:00, сб 10:00-17:00", weekday_from_name) == [
        (1, "09:00", "13:00"), (5, "10:00", "17:00")]
    assert inputs.hours_by_day("аўторак 9:00-13:00; нд 10.00–12.00\n08:00-09:00", weekday_from_name) == [
        (1, "09:00", "13:00"), (6, "10:00", "12:00"), (None, "08:00", "09:00")]
    for bad in ("", "вт", "xx 09:00-13:00", "09:00-13:00, 10:00-12:00", "вт 13:00-09:00", "вт 9-13",
                "; ".join(["вт 09:00-10:00"] * 15)):
        with pytest.raises(inputs.InputError):
            inputs.hours_by_day(bad, weekday_from_name)
