"""Limits on lists and claims: over the limit a member is told to slow down; far over it, coordinators
hear of it once, by pseudonym (a scraper or a stolen phone working through the lists)."""

from __future__ import annotations

import dataclasses

from bot.domain import Role
from bot.services import buttons
from tests.test_journey_runs import seed_week, stop_polling_job, volunteer

SLOW_DOWN = "Please slow down and try again later."


def alerts(bot, coordinator, text: str) -> list[str]:
    return [line for line in bot.texts(coordinator) if line.startswith(text)]


async def _lowered(bot, **limits):
    bot.config = dataclasses.replace(bot.config, **limits)
    await bot.restart()


async def test_listing_open_tasks_again_and_again_is_slowed_then_reported_once(bot):
    await _lowered(bot, list_views_per_hour=2)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    scraper = await volunteer(bot, area_id, trusted=True)
    pseudonym = (await bot.member(scraper)).pseudonym
    for _ in range(2):
        await bot.send(scraper, "/runs")
        assert bot.last_text(scraper) != SLOW_DOWN
    await bot.send(scraper, "/runs")
    assert bot.last_text(scraper) == SLOW_DOWN
    assert alerts(bot, coordinator, "Unusual activity") == []
    for _ in range(5):  # 3 x the limit, then over it
        await bot.send(scraper, "/runs")
    assert alerts(bot, coordinator, "Unusual activity") == [
        f"Unusual activity: {pseudonym} opened very many lists."]
    for _ in range(3):
        await bot.send(scraper, "/runs")
    assert len(alerts(bot, coordinator, "Unusual activity")) == 1  # once per window


async def test_claiming_again_and_again_is_slowed_then_reported_once(bot):
    await _lowered(bot, claims_per_day=1)
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    grabber = await volunteer(bot, area_id, trusted=True)
    pseudonym = (await bot.member(grabber)).pseudonym
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    async with bot.store.read() as uow:
        run = await uow.runs.by_code(code)
    grabber_id = (await bot.member(grabber)).id
    for attempt in range(5):  # a Claim button each time (as a client replaying presses would send)
        [[(_, token)]] = await buttons.issue(bot.store, grabber_id, [[buttons.Choice("x", "runs.claim",
                                                                                     {"run": run.id})]], ttl_hours=1)
        await bot.press(grabber, token)
        if attempt >= 1:
            assert bot.last_text(grabber) == SLOW_DOWN
    assert alerts(bot, coordinator, "Unusual activity") == [
        f"Unusual activity: {pseudonym} tried to claim very many tasks."]
