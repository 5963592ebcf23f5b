"""handlers/recent.py: message ids of the last 47 hours per private chat, in memory, bounded; and the
journeys that use them: /panic and a missed check-in delete the run lists and reminders too."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.app import RECENT_KEY
from bot.clock import FakeClock
from bot.domain import MemberStatus, Role
from handlers.recent import RecentMessages
from schedules import jobs
from tests.canary import find_canaries
from tests.test_journey_checkin import alerts, confirmed_run
from tests.test_journey_week import WINDOW_END


def _private(chat_id: int, message_id: int) -> dict:
    return {"message_id": message_id, "chat": {"id": chat_id, "type": "private"}}


def test_only_the_last_47_hours_of_private_chats_are_kept_and_taking_forgets_them():
    clock = FakeClock()
    recent = RecentMessages(clock, per_chat=3, chats=2)
    recent.observe(_private(1, 10))  # a message the bot sent
    clock.advance(timedelta(hours=47, minutes=1))
    recent.observe([{"update_id": 1, "message": _private(1, 11)},  # what a member wrote
                    {"update_id": 2, "message": {"message_id": 12, "chat": {"id": -5, "type": "group"}}},
                    {"update_id": 3, "callback_query": {"id": "x"}}])
    recent.observe(True)  # answers that are not messages are ignored
    recent.observe(_private(1, 13))
    assert recent.take(1) == [11, 13]  # 10 is too old to delete; the group is never noted
    assert recent.take(1) == []  # taken once
    for message_id in range(20, 25):
        recent.observe(_private(2, message_id))
    assert recent.take(2) == [22, 23, 24]  # at most `per_chat` per chat
    for chat_id in (3, 4, 5):
        recent.note(chat_id, 1)
    assert recent.take(3) == [] and recent.take(5) == [1]  # at most `chats` chats, the oldest forgotten


def test_a_message_that_waited_at_telegram_is_aged_from_when_it_was_written():
    """After downtime getUpdates hands over messages up to a day old: Telegram's 48 h count from their date."""
    clock = FakeClock()
    recent = RecentMessages(clock)
    written = clock.now() - timedelta(hours=30)
    recent.observe([{"update_id": 1, "message": {**_private(1, 7), "date": int(written.timestamp())}},
                    {"update_id": 2, "message": {**_private(1, 8), "date": int(clock.now().timestamp())}}])
    clock.advance(timedelta(hours=20))  # 50 h after the first was written, 20 h after the second
    assert recent.take(1) == [8]


async def test_panic_deletes_the_recent_run_lists_and_the_members_own_messages(bot):
    _, first, _, _ = await confirmed_run(bot)
    await bot.send(first, "/myruns")
    listing = bot.api.calls_to("sendMessage", chat_id=first.chat_id)[-1].result["message_id"]
    reminder = next(call.result["message_id"] for call in bot.api.calls_to("sendMessage", chat_id=first.chat_id)
                    if call.params["text"].startswith("Reminder for tomorrow"))
    await bot.send(first, "/panic")
    deleted = set(bot.api.deleted_ids(first.chat_id))
    assert {listing, reminder} <= deleted
    assert (await bot.member(first)).status is MemberStatus.FROZEN
    # Only the reply to /panic stays, asking the member to delete the chat too
    assert "Delete this chat in Telegram" in bot.last_text(first)


async def test_a_missed_check_in_deletes_the_recent_run_lists_too(bot):
    coordinator, first, second, _ = await confirmed_run(bot)
    await bot.send(first, "/myruns")
    listing = bot.api.calls_to("sendMessage", chat_id=first.chat_id)[-1].result["message_id"]
    kept = bot.api.calls_to("sendMessage", chat_id=second.chat_id)[-1].result["message_id"]
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await jobs.run_due(bot.application)
    await bot.press_label(second, "I'm safe")
    bot.clock.set(WINDOW_END + timedelta(hours=4, minutes=1))
    await jobs.run_due(bot.application)
    assert len(alerts(bot, coordinator, "Missed check-in")) == 1
    assert listing in bot.api.deleted_ids(first.chat_id)
    assert kept not in bot.api.deleted_ids(second.chat_id)  # the one who checked in keeps their chat


async def test_a_strangers_chat_is_not_kept_even_in_memory(bot):
    stranger = bot.person(name="Nobody")
    await bot.send(stranger, "hello")
    assert bot.last_text(stranger) == "This is a private bot."
    assert bot.runtime.recent.take(stranger.chat_id) == []
    member = await bot.join(Role.FAMILY)
    await bot.send(member, "/help")
    assert bot.runtime.recent.take(member.chat_id) != []  # a member's chat is kept, for /panic


async def test_a_member_turned_away_by_a_lockdown_keeps_their_recent_ids_for_a_later_panic(bot):
    coordinator, first, _, _ = await confirmed_run(bot)
    await bot.send(first, "/myruns")
    listing = bot.api.calls_to("sendMessage", chat_id=first.chat_id)[-1].result["message_id"]
    await bot.send(coordinator, "/lockdown")
    await bot.send(first, "hello?")  # turned away with the neutral line, but not a stranger
    await bot.send(coordinator, "/lockdown off")
    await bot.send(first, "/panic")
    assert listing in bot.api.deleted_ids(first.chat_id)


def test_an_export_keeps_only_the_last_47_hours_and_loads_back_in_order():
    clock = FakeClock()
    before = RecentMessages(clock)
    before.note(1, 10)
    clock.advance(timedelta(hours=47, minutes=1))
    before.note(1, 11)
    before.note(2, 20)
    saved = before.export()
    assert saved == {"1": [[11, int(clock.now().timestamp())]], "2": [[20, int(clock.now().timestamp())]]}
    after = RecentMessages(clock)
    after.load(json.loads(json.dumps(saved)))
    after.note(1, 12)
    assert after.take(1) == [11, 12] and after.take(2) == [20]


async def test_a_panic_after_a_clean_restart_still_deletes_what_came_before_it(bot):
    """A deploy or a reboot in between: the ids were kept sealed and are read back (and deleted) at start."""
    _, first, _, _ = await confirmed_run(bot)
    await bot.send(first, "/myruns")
    listing = bot.api.calls_to("sendMessage", chat_id=first.chat_id)[-1].result["message_id"]
    reminder = next(call.result["message_id"] for call in bot.api.calls_to("sendMessage", chat_id=first.chat_id)
                    if call.params["text"].startswith("Reminder for tomorrow"))
    await bot.stop()
    assert find_canaries(bot.database_files, [str(first.chat_id)]) == [], "kept sealed, not as plain numbers"
    async with bot.store.read() as uow:
        assert await uow.meta.get_sealed(RECENT_KEY) is not None
    await bot.start()
    async with bot.store.read() as uow:
        assert await uow.meta.get_sealed(RECENT_KEY) is None, "read once and deleted at start"
    await bot.send(first, "/panic")
    assert {listing, reminder} <= set(bot.api.deleted_ids(first.chat_id))
