"""/board: this week's runs, one line each with the status word and the places; a run with free places
within 48 h of its window, or with a place not confirmed within 24 h, is marked with ⚠; a run whose
places are all confirmed is not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain import FacilityKind, FacilityRules, HandoverWindow, NeedCategory, PrisonerStatus, Role
from schedules import jobs
from tests.test_journey_runs import seed_colonies, stop_polling_job, volunteer
from tests.test_journey_week import WINDOW_START

WARNING = "⚠ "


async def three_facilities(bot) -> tuple[int, list[int]]:
    """Three one-place SIZOs in one area, each with a Thursday 09:00-13:00 window and one prisoner with a
    need: the plan makes one run for each."""
    facility_ids = []
    async with bot.store.write() as uow:
        area = await uow.areas.add("Гродна-Поўнач")
        for number, alias in ((1, "Ясны Клён"), (2, "Шэры Бусел"), (3, "Ціхая Рака")):
            facility = await uow.facilities.add(
                kind=FacilityKind.SIZO, name=f"СИЗО-{number} Выдуманае", address=f"вул. Выдуманая, {number}",
                area_id=area.id, rules=FacilityRules(windows=(HandoverWindow(3, "09:00", "13:00"),), kg_per_month=30),
                effective_from=date(2026, 1, 1), places=1,
            )
            prisoner = await uow.prisoners.add(alias=alias, full_name=f"Вымышлены Чалавек {number}",
                                               birth_year=1980 + number, facility_id=facility.id,
                                               status=PrisonerStatus.PRE_TRIAL)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=2000)
            facility_ids.append(facility.id)
    return area.id, facility_ids


def line_of(text: str, code: str) -> str:
    (line,) = [line for line in text.splitlines() if code in line]
    return line


async def test_the_board_shows_status_and_places_and_marks_what_needs_attention(bot):
    # Given three published runs this Thursday: one nobody claims, one claimed and never confirmed, one confirmed
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда Board")
    area_id, facility_ids = await three_facilities(bot)
    lazy = await volunteer(bot, area_id, trusted=True, name="Лявон Lazy")
    sure = await volunteer(bot, area_id, trusted=True, name="Sabina Пэўная")
    await bot.send(coordinator, "/plan")
    assert bot.last_text(coordinator).count("draft · R-") == 3
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        code_of = {run.facility_id: run.code for run in await uow.runs.list()}
    unclaimed, unconfirmed, confirmed = (code_of[facility_id] for facility_id in facility_ids)
    for person, code in ((lazy, unconfirmed), (sure, confirmed)):
        await bot.send(person, "/runs")
        await bot.press_label(person, f"Claim {code}")
        assert f"The place on {code} is yours" in bot.texts(person)[-2]

    # When the coordinator opens /board early in the week (the runs are three days off)
    bot.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    await jobs.run_due(bot.application)
    await bot.send(coordinator, "/board")
    board = bot.last_text(coordinator)
    # Then each run shows its status word and places, and nothing is marked yet
    assert board.splitlines()[0] == "This week and the next three days:"
    assert line_of(board, unclaimed).startswith(f"open · {unclaimed} · SIZO · Гродна-Поўнач · Thu 03.12 · 09:00–13:00")
    assert line_of(board, unclaimed).endswith("places left: 1 of 1")
    for code in (unconfirmed, confirmed):
        assert line_of(board, code).startswith(f"claimed 1/1 · {code} · SIZO")
        assert line_of(board, code).endswith("places left: 0 of 1")
    assert WARNING not in board

    # When the reminders have gone (24 h before) and only one volunteer confirmed
    bot.clock.set(WINDOW_START - timedelta(hours=24))
    await jobs.run_due(bot.application)
    await bot.press_label(sure, "Confirm")
    assert bot.last_text(sure) == f"Thank you: {confirmed} is confirmed."
    assert bot.last_text(lazy).startswith(f"Reminder for tomorrow: task {unconfirmed}")  # never confirmed

    # Then 20 h before the window the board marks the unclaimed run and the unconfirmed one, not the confirmed
    bot.clock.set(WINDOW_START - timedelta(hours=20))
    await bot.send(coordinator, "/board")
    board = bot.last_text(coordinator)
    assert line_of(board, unclaimed).startswith(f"{WARNING}open · {unclaimed} · SIZO")
    assert line_of(board, unclaimed).endswith("places left: 1 of 1")
    assert line_of(board, unconfirmed).startswith(f"{WARNING}claimed 1/1 · {unconfirmed} · SIZO")
    assert line_of(board, unconfirmed).endswith("places left: 0 of 1")
    assert line_of(board, confirmed).startswith(f"confirmed · {confirmed} · SIZO")
    assert line_of(board, confirmed).endswith("places left: 0 of 1")
    assert board.count(WARNING.strip()) == 2
    # And nothing on the board names a prisoner or a facility
    assert "Вымышлены" not in board and "Выдуманае" not in board


async def test_an_open_run_is_marked_from_48_hours_before_its_window(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await three_facilities(bot)
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Publish all")
    async with bot.store.read() as uow:
        codes = [run.code for run in await uow.runs.list()]
    bot.clock.set(WINDOW_START - timedelta(hours=48, minutes=1))
    await bot.send(coordinator, "/board")
    board = bot.last_text(coordinator)
    assert all(line_of(board, code).startswith(f"open · {code}") for code in codes)
    bot.clock.set(WINDOW_START - timedelta(hours=48))
    await bot.send(coordinator, "/board")
    board = bot.last_text(coordinator)
    assert all(line_of(board, code).startswith(f"{WARNING}open · {code}") for code in codes)


async def test_on_a_sunday_the_board_shows_the_tuesday_run_an_alert_points_to(bot):
    """The 48 h alert comes on Sunday for a Tuesday run and says "Open /board": the run is there."""

    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    async with bot.store.write() as uow:
        area = await uow.areas.add("Ліда")
        facility = await uow.facilities.add(
            kind=FacilityKind.SIZO, name="СІЗА Выдуманае", address="вул. 1", area_id=area.id,
            rules=FacilityRules(windows=(HandoverWindow(1, "09:00", "13:00"),)), effective_from=date(2026, 1, 1),
            places=1)
        prisoner = await uow.prisoners.add(alias="Ранняя Рабіна", full_name="Імя Прыдуманае", birth_year=1990,
                                           facility_id=facility.id, status=PrisonerStatus.PRE_TRIAL)
        await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=1000)
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    bot.clock.set(datetime(2026, 11, 29, 8, 0, tzinfo=UTC))  # Sunday; the run is on Tuesday 01.12
    await jobs.run_due(bot.application)
    assert any(code in text and "/board" in text for text in bot.texts(coordinator))
    await bot.send(coordinator, "/board")
    assert line_of(bot.last_text(coordinator), code).startswith(f"⚠ open · {code}")


async def test_a_long_board_counts_what_does_not_fit_and_keeps_flagged_runs_first(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_colonies(bot, 70, "Магілёў")
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Publish all")
    bot.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))  # Wednesday of that week: Thursday's runs unclaimed
    await bot.send(coordinator, "/board")
    board = bot.last_text(coordinator)
    last = board.splitlines()[-1]
    assert len(board) <= 4096 and last.startswith("… and ") and last.endswith(" more.")
    runs = [line for line in board.splitlines() if " · R-" in line]
    flagged = [line.startswith("⚠") for line in runs]
    assert flagged == sorted(flagged, reverse=True) and any(flagged)  # every flagged run before the others
