"""Updates from different people run side by side; one person's updates run one at a time, in order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.domain import Role
from handlers.ordering import PerPersonOrder


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "Anon", is_bot=False)
    message = Message(update_id, None, Chat(user_id, Chat.PRIVATE), from_user=user, text="hi")
    return Update(update_id, message=message)


async def test_one_persons_updates_run_in_arrival_order_and_never_overlap():
    processor = PerPersonOrder(limit=8)
    log: list[tuple[str, int]] = []
    running: set[int] = set()
    overlapped = False

    async def work(update_id: int, user_id: int, pause: float) -> None:
        nonlocal overlapped
        overlapped |= user_id in running
        running.add(user_id)
        log.append(("start", update_id))
        await asyncio.sleep(pause)
        log.append(("end", update_id))
        running.discard(user_id)

    # Person 1 sends three updates, the first slow; person 2 sends one in between.
    plan = [(1, 101, 0.05), (2, 101, 0.0), (3, 202, 0.0), (4, 101, 0.0)]
    await asyncio.gather(*(processor.process_update(_update(uid, user), work(uid, user, pause))
                           for uid, user, pause in plan))
    person_1 = [uid for kind, uid in log if kind == "start" and uid in (1, 2, 4)]
    assert person_1 == [1, 2, 4]
    assert not overlapped
    # Person 2 did not wait for person 1's slow update.
    assert log.index(("end", 3)) < log.index(("end", 1))
    assert processor.people_waiting == 0  # nothing about anyone is kept afterwards


async def test_the_limit_holds_and_a_full_house_keeps_each_persons_order():
    processor = PerPersonOrder(limit=2)
    at_once = most = 0
    order: dict[int, list[int]] = {}

    async def work(update_id: int, user_id: int) -> None:
        nonlocal at_once, most
        at_once += 1
        most = max(most, at_once)
        order.setdefault(user_id, []).append(update_id)
        await asyncio.sleep(0.001)
        at_once -= 1

    updates = [(n, 300 + n % 5) for n in range(60)]
    await asyncio.gather(*(processor.process_update(_update(uid, user), work(uid, user)) for uid, user in updates))
    assert most == 2
    for user, seen in order.items():
        assert seen == sorted(seen), user


async def test_a_slow_reply_to_one_person_does_not_hold_up_another(bot):
    first = await bot.join(Role.COORDINATOR)
    second = await bot.join(Role.VOLUNTEER)
    mark = bot.api.mark()
    # "Telegram" holds the answer to the first person's button press for 3 seconds.
    bot.api.inject_fault("answerCallbackQuery", "500", delay=3.0)
    bot.api.press_button(first.user_id, "an-expired-button")
    bot.api.send_message(second.user_id, "/help", language_code="en")
    bot.enqueued += 2
    await bot._wait_processed()
    held = next(call for call in bot.api.calls[mark - bot.api._calls_base:] if call.method == "answerCallbackQuery")
    answer = next(call for call in bot.api.calls[mark - bot.api._calls_base:]
                  if call.method == "sendMessage" and call.params["chat_id"] == second.chat_id)
    # One update after another, the second answer could only leave once the held call had returned.
    assert answer.at < held.at + 3.0


async def test_a_press_is_answered_and_its_screen_sent_together(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await bot.send(coordinator, "/prisoners")
    mark = bot.api.mark()
    # "Telegram" holds the answer to the press for 3 seconds; the next screen must not wait for it.
    bot.api.inject_fault("answerCallbackQuery", "500", delay=3.0)
    await bot.press_label(coordinator, "Add")
    calls = bot.api.calls[mark - bot.api._calls_base:]
    held = next(call for call in calls if call.method == "answerCallbackQuery")
    screen = next(call for call in calls
                  if call.method == "sendMessage" and call.params["chat_id"] == coordinator.chat_id)
    assert screen.ok and screen.at < held.at + 3.0


async def test_details_and_giving_back_take_one_round_trip_to_telegram_not_two(bot):
    """With Telegram 50-100 ms away, every round trip a press waits for is felt: the answer to the press
    travels beside the details, and the details' deletion beside the "place is free" reply."""
    from tests.test_journey_runs import seed_week, stop_polling_job, volunteer

    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    helper = await volunteer(bot, area_id, trusted=True)
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Publish all")
    await bot.send(helper, "/runs")
    await bot.press_label(helper, "Claim")
    await bot.send(helper, "/myruns")

    mark = bot.api.mark()
    bot.api.inject_fault("answerCallbackQuery", "500", delay=3.0)  # "Telegram" holds the answer 3 s
    await bot.press_label(helper, "Details")
    calls = bot.api.calls[mark - bot.api._calls_base:]
    held = next(call for call in calls if call.method == "answerCallbackQuery")
    details = next(call for call in calls if call.method == "sendMessage" and call.params["chat_id"] == helper.chat_id)
    assert details.ok and details.params["text"].startswith("Details for your task")
    assert details.at < held.at + 3.0

    await bot.send(helper, "/myruns")
    mark = bot.api.mark()
    bot.api.inject_fault("deleteMessages", "timeout", delay=2.0)  # held 2 s, then done
    await bot.press_label(helper, "Give back")
    calls = bot.api.calls[mark - bot.api._calls_base:]
    held = next(call for call in calls if call.method == "deleteMessages")
    reply = next(call for call in calls if call.method == "sendMessage" and call.params["chat_id"] == helper.chat_id)
    assert held.ok and "free again" in reply.params["text"]
    assert reply.at < held.at + 2.0
    assert len(bot.api.deleted_ids(helper.chat_id)) == 2  # both details messages left the chat


async def test_a_toggle_screen_is_answered_and_edited_together(bot):
    """The edit path of a screen (tapping a day or an area) does not wait for the press's answer either."""
    helper = await bot.join(Role.VOLUNTEER)
    async with bot.store.write() as uow:
        await uow.areas.add("Гомель")
    await bot.send(helper, "/profile")
    mark = bot.api.mark()
    bot.api.inject_fault("answerCallbackQuery", "500", delay=3.0)
    await bot.press_label(helper, "Гомель")
    calls = bot.api.calls[mark - bot.api._calls_base:]
    held = next(call for call in calls if call.method == "answerCallbackQuery")
    edited = next(call for call in calls if call.method == "editMessageText")
    assert edited.ok and "✓ Гомель" in str(edited.params["reply_markup"])
    assert edited.at < held.at + 3.0
