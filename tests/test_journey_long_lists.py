"""Long lists of places: every picker leafs a page at a time, so the 45th facility is as reachable as the
first, for a family asking for support and for coordinators keeping the records."""

from __future__ import annotations

from datetime import date

from bot.domain import FacilityKind, FacilityRules, Role
from tests.test_journey_family import typed

COUNT = 45


async def many_places(bot) -> None:
    async with bot.store.write() as uow:
        area = await uow.areas.add("Гродна")
        for number in range(1, COUNT + 1):
            await uow.facilities.add(kind=FacilityKind.COLONY, name=f"Place {number:02d}", address="Street 1",
                                     area_id=area.id, rules=FacilityRules(), effective_from=date(2026, 1, 1))


def labels(bot, person) -> list[str]:
    return [label for label, _ in bot.api.buttons(person.chat_id)]


async def test_a_family_finds_the_45th_place_on_the_second_page(bot):
    await many_places(bot)
    family = await bot.join(Role.FAMILY)
    await bot.send(family, "/request")
    await typed(bot, family, "Марта Прыдуманая")
    await typed(bot, family, "1990")
    first_page = labels(bot, family)
    assert "Place 01" in first_page and "Place 30" in first_page and "Place 31" not in first_page
    assert "Next" in first_page and "Other / not on the list" in first_page
    await bot.press_label(family, "Next")
    second_page = labels(bot, family)
    assert "Place 45" in second_page and "Place 01" not in second_page and "Previous" in second_page
    await bot.press_label(family, "Place 45")
    assert bot.last_text(family).startswith("What is needed?")


async def test_coordinators_open_add_and_move_with_the_45th_place(bot):
    await many_places(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await bot.send(coordinator, "/facilities")
    assert "Place 31" not in bot.last_text(coordinator)  # the lines follow the page of buttons
    await bot.press_label(coordinator, "Next")
    assert "Place 44" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Place 44")
    assert "Place 44" in bot.last_text(coordinator) and "Street 1" in bot.last_text(coordinator)

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Add")
    await bot.send(coordinator, "Тэкля Выдуманая")
    await bot.send(coordinator, "1977")
    await bot.press_label(coordinator, "Next")
    await bot.press_label(coordinator, "Place 40")
    await bot.press_label(coordinator, "Pre-trial")
    async with bot.store.read() as uow:
        [added] = [p for p in await uow.prisoners.list() if p.full_name == "Тэкля Выдуманая"]
        places = {f.id: f.name for f in await uow.facilities.list()}
    assert places[added.facility_id] == "Place 40"

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "By facility")
    await bot.press_label(coordinator, "Next")
    await bot.press_label(coordinator, "Place 40")
    assert added.alias in bot.last_text(coordinator)

    await bot.press_label(coordinator, added.alias)
    await bot.press_label(coordinator, "Transfer")
    await bot.press_label(coordinator, "Next")
    await bot.press_label(coordinator, "Place 45")
    async with bot.store.read() as uow:
        moved = await uow.prisoners.get(added.id)
    assert places[moved.facility_id] == "Place 45"


async def test_a_coordinator_places_a_request_for_an_unlisted_place_on_the_second_page(bot):
    from tests.test_journey_family import ask

    await many_places(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    await ask(bot, family, other="Калонія ля ракі", categories=("Food",))
    await bot.send(coordinator, "/requests")
    await bot.press_label(coordinator, "Create a prisoner")
    assert "Which facility is it?" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Next")
    await bot.press_label(coordinator, "Place 45")
    async with bot.store.read() as uow:
        [prisoner] = await uow.prisoners.list()
        places = {f.id: f.name for f in await uow.facilities.list()}
    assert places[prisoner.facility_id] == "Place 45"


async def test_open_needs_and_people_not_reached_leaf_a_page_at_a_time(bot):
    from bot.domain import NeedCategory, PrisonerStatus

    await many_places(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    async with bot.store.write() as uow:
        [place] = [f for f in await uow.facilities.list() if f.name == "Place 01"]
        for number in range(1, 21):
            prisoner = await uow.prisoners.add(alias=f"Alias {number:02d}", full_name=f"Name {number}",
                                               birth_year=1970, facility_id=place.id,
                                               status=PrisonerStatus.SENTENCED)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=1000)
    await bot.send(coordinator, "/needs")
    first = bot.last_text(coordinator)
    assert "Open needs (20):" in first and "page 1 of 2" in first
    first_aliases = {label.split(" · ")[0] for label in labels(bot, coordinator) if label.startswith("Alias")}
    await bot.press_label(coordinator, "Next")
    assert "page 2 of 2" in bot.last_text(coordinator)
    await bot.press(coordinator, next(data for label, data in bot.api.buttons(coordinator.chat_id)
                                      if label.startswith("Alias")))
    need_line, question = bot.last_text(coordinator).splitlines()  # which need, then the question
    assert need_line.startswith("open · Food · Alias") and question == "Close this need?"
    await bot.press_label(coordinator, "Back to the list")  # back where the coordinator was
    assert "page 2 of 2" in bot.last_text(coordinator)
    second_aliases = {label.split(" · ")[0] for label in labels(bot, coordinator) if label.startswith("Alias")}
    assert len(first_aliases) == 15 and len(second_aliases) == 5 and not first_aliases & second_aliases

    await bot.send(coordinator, "/prisoners")
    await bot.press_label(coordinator, "Not reached")
    assert "page 1 of 2" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Next")
    page_two = [label for label in labels(bot, coordinator) if label.startswith("Alias")]
    assert len(page_two) == 5
    await bot.press_label(coordinator, page_two[0])
    assert page_two[0] in bot.last_text(coordinator)
