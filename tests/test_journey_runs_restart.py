"""Restart in the middle of the week: due deletions, reminders and deadlines happen exactly once."""

from __future__ import annotations

from datetime import timedelta

from tests.test_journey_runs import stop_polling_job
from tests.test_journey_week import WINDOW_END, WINDOW_START, deleted_ids, publish_and_claim, sent_ids


async def down_until(bot, moment) -> None:
    """The bot is down while the clock passes `moment`; start-up runs what fell due; then a second restart."""
    await bot.stop()
    bot.clock.set(moment)
    await bot.start()
    stop_polling_job(bot)
    await bot.restart()  # a second start must not repeat anything
    stop_polling_job(bot)


def texts_starting(bot, person, prefix: str) -> list[str]:
    return [text for text in bot.texts(person) if text.startswith(prefix)]


async def test_deletions_reminders_and_deadlines_that_fell_due_while_down_happen_exactly_once(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    first_member = await bot.member(first)
    second_member = await bot.member(second)

    # Details past 47 h while the bot was down: deleted once after start-up
    await down_until(bot, bot.clock.now() + timedelta(hours=48))
    for person in (first, second):
        details = sent_ids(bot, person, "Details for your task")
        assert len(details) == 1 and deleted_ids(bot, person) == details

    # The reminder fell due while down: sent once each
    await down_until(bot, WINDOW_START - timedelta(hours=23))
    for person in (first, second):
        assert len(texts_starting(bot, person, "Reminder for tomorrow")) == 1
    await bot.press_label(first, "Confirm")  # the second never confirms

    # The confirmation deadline fell due while down: coordinators told once, the place given up once
    await down_until(bot, WINDOW_START - timedelta(hours=11))
    assert texts_starting(bot, coordinator, "Not confirmed") == [
        f"Not confirmed: task {code} ({second_member.pseudonym}). The place is offered again. Open /board."]
    assert len(texts_starting(bot, second, "You did not confirm")) == 1

    # The check-in deadline fell due while down: one alert, one freeze; and the second alert once later
    await down_until(bot, WINDOW_END + timedelta(hours=5))
    assert texts_starting(bot, coordinator, "Missed check-in") == [
        f"Missed check-in: {first_member.pseudonym}, task {code}. Their account is frozen."]
    await down_until(bot, WINDOW_END + timedelta(hours=9))
    assert len(texts_starting(bot, coordinator, "Still no check-in")) == 1
    assert len(texts_starting(bot, coordinator, "Missed check-in")) == 1
