"""Message partner: the volunteers of one run write to each other through the bot, seeing only pseudonyms,
and what they wrote leaves both chats with the run's details."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import MemberStatus, Role
from bot.services import buttons
from tests.canary import find_canaries
from tests.test_journey_runs import seed_week, stop_polling_job, volunteer
from tests.test_journey_week import WINDOW_END, publish_and_claim, sent_ids

NOTE = "Буду у ворот в 9:05, пакет у меня. Canary-88"
PROMPT = "Send a short message for your partner on"
NOT_LIVE = "You can write to your partner only while you hold a place on the task, until its window ends."


def toasts(bot) -> list[str]:
    return [call.params.get("text", "") for call in bot.api.calls_to("answerCallbackQuery")]


def user_texts(bot, person) -> list[str]:
    """What the member's own messages still in the chat say."""
    return [message.get("text", "") for message in bot.api.live_messages(person.chat_id, include_user=True).values()
            if message.get("from", {}).get("id") == person.user_id]


async def _all_assignments(bot):
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        return await uow.runs.assignments_of(run.id)


async def _assignments(bot):
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        return await uow.runs.assignments_of(run.id, live_only=True)


async def write_to_partner(bot, sender, text: str) -> None:
    await bot.send(sender, "/myruns")
    await bot.press_label(sender, "Message partner")
    assert bot.last_text(sender).startswith(PROMPT)
    await bot.send(sender, text)


async def test_partners_write_through_the_bot_and_it_leaves_both_chats_with_the_place(bot):
    # Given two volunteers who hold the two places on one run
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    first_member, second_member = await bot.member(first), await bot.member(second)

    # When the first writes to their partner
    await write_to_partner(bot, first, NOTE)

    # Then the second gets it under the first's pseudonym: silent, a neutral first line, no Telegram name
    (call,) = [c for c in bot.api.calls_to("sendMessage", chat_id=second.chat_id) if NOTE in c.params.get("text", "")]
    assert call.params["text"] == f"Message from your partner on {code}, {first_member.pseudonym}:\n{NOTE}"
    assert call.params["disable_notification"] is True and call.params["protect_content"] is True
    assert "Алесь" not in call.params["text"]
    # And the sender's typed copy is gone from their chat; they hear it was sent
    assert NOTE not in user_texts(bot, first)
    assert bot.last_text(first) == f"Sent to your partner on {code}. Write more, or send /cancel when you are done."
    # And the audit says who wrote on which run, never what
    async with bot.store.read() as uow:
        entries = [entry for entry in await uow.audit.recent(50) if entry.action == "partner.messaged"]
    assert [(entry.actor_id, entry.subject) for entry in entries] == [(first_member.id, code)]

    # When the second answers, the first gets it the same way
    await write_to_partner(bot, second, "Понял, жду.")
    assert bot.last_text(first) == f"Message from your partner on {code}, {second_member.pseudonym}:\nПонял, жду."

    # When the second gives their place back, what was relayed to them leaves their chat with the details
    relayed = sent_ids(bot, second, "Message from your partner")
    await bot.send(second, "/myruns")
    await bot.press_label(second, "Give back")
    assert set(relayed) <= set(bot.api.deleted_ids(second.chat_id))
    # And with no partner left, the first is told so and nothing waits for text
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Message partner")
    assert toasts(bot)[-1] == f"Nobody else holds a place on {code} yet."
    await bot.send(first, "hello?")  # still in the conversation: deleted, not relayed, and said so
    assert not any("hello?" in text for text in bot.texts(second))
    assert "hello?" not in user_texts(bot, first)
    assert bot.last_text(first) == f"Nobody else holds a place on {code} now; your message was not sent."

    # And when the run is called off, what the first received goes too
    received = sent_ids(bot, first, "Message from your partner")
    await bot.send(coordinator, "/board")
    await bot.press_label(coordinator, "Call off a task")
    await bot.press_label(coordinator, f"Call off {code}")
    await bot.press_label(coordinator, "Yes, call it off")
    assert set(received) <= set(bot.api.deleted_ids(first.chat_id))
    await bot.stop()
    assert find_canaries(bot.database_files, ["Canary-88", "пакет у меня"]) == []


async def test_what_is_refused_is_deleted_and_relays_nothing(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    heard = len(bot.texts(second))

    # Too long: deleted, asked again, nothing relayed; the flow still waits for the text
    await write_to_partner(bot, first, "Canary-99 " * 60)
    assert "Canary-99" not in " ".join(user_texts(bot, first))
    assert bot.last_text(first) == "Please keep it under 500 characters, or send /cancel to stop."
    await bot.send(first, "short one")
    assert bot.last_text(second).endswith("\nshort one")
    assert len(bot.texts(second)) == heard + 1

    # A partner frozen while the sender types hears nothing; the sender learns only that it did not go
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Message partner")
    second_id = (await bot.member(second)).id
    async with bot.store.write() as uow:
        await uow.members.set_status(second_id, MemberStatus.FROZEN)
    await bot.send(first, "are you there?")
    assert len(bot.texts(second)) == heard + 1
    assert bot.last_text(first) == f"Nobody else holds a place on {code} now; your message was not sent."
    # and a frozen partner is nobody to write to (the sender learns no more than that)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Message partner")
    assert toasts(bot)[-1] == f"Nobody else holds a place on {code} yet."

    # After the window the conversation is over, like the details
    async with bot.store.write() as uow:
        await uow.members.set_status(second_id, MemberStatus.ACTIVE)
    bot.clock.set(WINDOW_END - timedelta(hours=1))
    await bot.send(first, "/myruns")
    bot.clock.set(WINDOW_END + timedelta(minutes=1))
    await bot.press_label(first, "Message partner")
    assert toasts(bot)[-1] == NOT_LIVE
    await bot.send(first, "late words")
    assert not any("late words" in text for text in bot.texts(second))


async def test_the_place_going_while_typing_relays_nothing(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Message partner")
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Give back")
    await bot.send(first, "Canary-55 after giving back")
    assert not any("Canary-55" in text for text in bot.texts(second))
    assert "Canary-55" not in " ".join(user_texts(bot, first))
    assert bot.last_text(first) == NOT_LIVE


async def test_a_trial_volunteer_waiting_for_approval_cannot_write_nor_can_anyone_with_a_forged_button(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await bot.send(second, "/myruns")
    await bot.press_label(second, "Give back")
    newcomer_area = (await bot.member(first)).area_ids[0]
    newcomer = await volunteer(bot, newcomer_area, trusted=False)
    await bot.send(newcomer, "/runs")
    await bot.press_label(newcomer, f"Claim {code}")
    assert "A coordinator will confirm your place" in bot.last_text(newcomer)
    await bot.send(newcomer, "/myruns")
    assert [label for label, _ in bot.api.buttons(newcomer.chat_id)] == [f"Give back {code}"]  # waiting: no more
    newcomer_id = (await bot.member(newcomer)).id
    waiting_place = next(a.id for a in await _all_assignments(bot) if a.member_id == newcomer_id)
    [[(_, token)]] = await buttons.issue(bot.store, newcomer_id, [[buttons.Choice(
        "x", "runs.partner", {"assignment": waiting_place})]], ttl_hours=1)
    await bot.press(newcomer, token)
    assert toasts(bot)[-1] == NOT_LIVE
    heard = len(bot.texts(first))
    await bot.send(newcomer, "hello from the waiting room")
    assert len(bot.texts(first)) == heard

    # Another volunteer holding a token issued to them for the first volunteer's place gets nowhere either
    stranger = await volunteer(bot, newcomer_area, trusted=True)
    first_id = (await bot.member(first)).id
    first_place = next(a.id for a in await _assignments(bot) if a.member_id == first_id)
    [[(_, token)]] = await buttons.issue(bot.store, (await bot.member(stranger)).id,
                                         [[buttons.Choice("x", "runs.partner", {"assignment": first_place})]],
                                         ttl_hours=1)
    await bot.press(stranger, token)
    assert toasts(bot)[-1] == NOT_LIVE
    await bot.send(stranger, "I am not on this run")
    assert len(bot.texts(first)) == heard


async def test_a_run_with_one_place_shows_no_message_partner_button(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    area_id = await seed_week(bot)
    alone = await volunteer(bot, area_id, trusted=True)
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    async with bot.store.write() as uow:
        run = await uow.runs.by_code(code)
        await uow.runs.set_places(run.id, 1)
    await bot.press_label(coordinator, "Publish all")
    await bot.send(alone, "/runs")
    await bot.press_label(alone, f"Claim {code}")
    await bot.send(alone, "/myruns")
    labels = [label for label, _ in bot.api.buttons(alone.chat_id)]
    assert f"Details {code}" in labels and not any("Message partner" in label for label in labels)


async def test_people_write_in_several_lines_and_the_conversation_closes_after_a_quiet_half_hour(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await write_to_partner(bot, first, "Я на месте.")
    await bot.send(first, "Жду у входа.")  # a second line, no button needed
    assert [text.split("\n", 1)[1] for text in bot.texts(second) if text.startswith("Message from your partner")] \
        == ["Я на месте.", "Жду у входа."]
    await bot.send(first, "/cancel")  # /cancel closes it and says so (the lines did go)
    assert bot.last_text(first) == "Done: the conversation with your partner is closed."
    await write_to_partner(bot, first, "Ещё одно.")
    bot.clock.advance(timedelta(minutes=31))
    await bot.send(first, "Canary-44 much later")
    assert not any("Canary-44" in text for text in bot.texts(second))
    assert "Canary-44 much later" not in user_texts(bot, first)
    assert bot.last_text(first).startswith("That conversation has ended; your message was not sent.")
    await bot.send(first, "and after that")  # no conversation any more: the usual answer, nothing relayed
    assert not any("and after that" in text for text in bot.texts(second))


async def test_a_partner_who_blocked_the_bot_is_not_reached_and_the_sender_hears_so(bot):
    coordinator, first, second, code, _ = await publish_and_claim(bot, trial_second=False)
    await bot.send(first, "/myruns")
    await bot.press_label(first, "Message partner")
    bot.api.inject_fault("sendMessage", "403_blocked")  # the relay: Telegram says the partner blocked the bot
    await bot.send(first, "are you there?")
    assert not any("are you there?" in text for text in bot.texts(second))
    assert bot.last_text(first) == "Your partner could not be reached. Try again later, or ask a coordinator."
