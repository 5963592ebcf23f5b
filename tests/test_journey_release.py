"""Giving a place back: in time it is simply free again; within a day of the window coordinators are told
and the run is announced again to the area's other free volunteers."""

from __future__ import annotations

from datetime import timedelta

from schedules import jobs
from tests.test_journey_checkin import confirmed_run
from tests.test_journey_runs import volunteer
from tests.test_journey_week import WINDOW_START, publish_and_claim

LATE_ALERT = "A place was given back less than a day before the task. Open /board."
ANNOUNCEMENT = "1 new task for Thu 03.12"


async def _with_a_bystander(bot):
    coordinator, first, second, code = await confirmed_run(bot)
    area_id = (await bot.member(first)).area_ids[0]
    bystander = await volunteer(bot, area_id, trusted=True, name="Ясь Збоку")
    monday_only = await volunteer(bot, area_id, trusted=True, weekdays=(0,))
    return coordinator, first, second, code, bystander, monday_only


def heard(bot, person, text: str) -> int:
    return sum(1 for line in bot.texts(person) if line.splitlines()[0] == text)


async def test_a_place_given_back_late_alerts_coordinators_and_is_announced_again(bot):
    coordinator, first, second, code, bystander, monday_only = await _with_a_bystander(bot)
    bot.clock.set(WINDOW_START - timedelta(hours=6))
    await jobs.run_due(bot.application)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    assert LATE_ALERT in bot.texts(coordinator)
    assert heard(bot, bystander, ANNOUNCEMENT) == 0  # not inside the volunteer's button: the next round
    await jobs.run_due(bot.application)
    await jobs.run_due(bot.application)  # once per run
    # The bystander who goes on Thursdays hears of it again; not the one who just left, not the partner
    # who still holds a place, not a volunteer who goes on Mondays only
    assert heard(bot, bystander, ANNOUNCEMENT) == 1
    assert heard(bot, first, ANNOUNCEMENT) == 1  # the first announcement only
    assert heard(bot, second, ANNOUNCEMENT) == 1
    assert heard(bot, monday_only, ANNOUNCEMENT) == 0
    await bot.send(bystander, "/runs")
    assert code in bot.last_text(bystander) and "places left: 1 of 2" in bot.last_text(bystander)


async def test_a_place_given_back_in_time_is_quietly_free_again(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)  # a week ahead
    bystander = await volunteer(bot, (await bot.member(first)).area_ids[0], trusted=True)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    assert LATE_ALERT not in bot.texts(coordinator)
    assert heard(bot, bystander, ANNOUNCEMENT) == 0


async def test_a_late_place_taken_again_before_the_round_is_not_announced(bot):
    coordinator, first, second, code, bystander, _ = await _with_a_bystander(bot)
    bot.clock.set(WINDOW_START - timedelta(hours=6))
    await jobs.run_due(bot.application)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    await bot.send(bystander, "/runs")
    await bot.press_label(bystander, f"Claim {code}")
    await jobs.run_due(bot.application)
    assert heard(bot, bystander, ANNOUNCEMENT) == 0


async def test_the_partner_on_the_run_hears_the_place_was_given_back(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    assert bot.last_text(second) == f"Update on task {code}: your partner has given their place back."
    assert not any("given their place back" in text for text in bot.texts(first))


async def test_open_tasks_do_not_offer_a_place_the_volunteer_already_holds(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    bystander = await volunteer(bot, (await bot.member(first)).area_ids[0], trusted=True)
    await bot.send(second, "/myruns")
    await bot.press_label(second, "Give back")
    await bot.send(first, "/runs")  # holds a place on the only run: nothing to claim
    assert code not in bot.last_text(first)
    await bot.send(bystander, "/runs")
    assert code in bot.last_text(bystander)
