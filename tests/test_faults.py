"""Telegram and storage faults: retried, recorded or answered briefly; never a crash or a lost change."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain import MemberStatus, Role
from tests.harness import Harness


async def test_a_500_on_a_notification_is_retried(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    bot.api.inject_fault("sendMessage", "500", count=1)
    for _ in range(bot.config.commands_per_minute * 3 + 2):
        await bot.send(family, "/help")  # a flood: the alert to the coordinator hits the 500 first
    await bot.api.wait_for("sendMessage", chat_id=coordinator.chat_id,
                           predicate=lambda call: "Unusual activity" in call.params.get("text", "") and call.ok)


async def test_403_marks_the_member_unreachable_until_they_write_again(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    bot.api.inject_fault("sendMessage", "403_blocked", count=1)
    await bot.send(family, "/panic")  # the first message out is the alert to the coordinator: blocked
    assert (await bot.member(coordinator)).unreachable
    await bot.send(coordinator, "/help")
    assert not (await bot.member(coordinator)).unreachable


async def test_unreachable_members_are_visible_to_coordinators(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    family_id = (await bot.member(family)).id
    async with bot.store.write() as uow:
        await uow.members.set_unreachable(family_id, True)
    await bot.send(coordinator, "/volunteers")
    pseudonym = (await bot.member(family)).pseudonym
    line = next(line for line in bot.last_text(coordinator).splitlines() if pseudonym in line)
    assert "unreachable" in line


async def test_a_message_already_gone_counts_as_deleted(bot):
    await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    member = await bot.member(family)
    async with bot.store.write() as uow:
        await uow.messages.track(member_id=member.id, kind="details", chat_id=family.chat_id, message_id=999999,
                                 delete_after=bot.clock.now() + timedelta(hours=1))
    await bot.send(family, "/panic")  # 999999 was never sent: Telegram answers "message to delete not found"
    async with bot.store.read() as uow:
        assert await uow.messages.all() == []


async def test_a_failed_reply_does_not_undo_the_state_change(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    volunteer = await bot.join(Role.VOLUNTEER)
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, (await bot.member(volunteer)).pseudonym)
    bot.api.inject_fault("sendMessage", "500", count=2)  # the confirmation and the error reply both fail
    await bot.press_label(coordinator, "Freeze")
    assert (await bot.member(volunteer)).status is MemberStatus.FROZEN
    await bot.send(coordinator, "/help")  # and the bot is still serving
    assert "/invite" in bot.last_text(coordinator)
    assert "Traceback" not in bot.logs()


async def test_a_read_only_database_gets_a_short_answer_and_recovers(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    await bot.store.db.conn.execute("PRAGMA query_only=ON")  # every write now fails as on a read-only disk
    await bot.send(coordinator, "/invite")
    assert "temporarily unavailable" in bot.last_text(coordinator)
    assert any("Storage problem" in text for text in bot.texts(coordinator))
    await bot.store.db.conn.execute("PRAGMA query_only=OFF")
    await bot.send(coordinator, "/invite")
    assert "Who are you inviting?" in bot.last_text(coordinator)


async def test_429_is_waited_out_by_the_production_rate_limiter(config, store, clock, fake_api, log_stream):
    harness = Harness(config=dataclasses.replace(config, api_base_url=fake_api.base_url), store=store, clock=clock,
                      api=fake_api, log_stream=log_stream, rate_limiter=True)
    await harness.start()
    try:
        family = await harness.join(Role.FAMILY)
        fake_api.inject_fault("sendMessage", "429", count=1, retry_after=1)
        await harness.send(family, "/help")
        assert "/language" in harness.last_text(family)
        assert any(call.status == 429 for call in fake_api.calls_to("sendMessage"))
    finally:
        await harness.stop()


async def test_the_gate_fails_closed_when_it_cannot_recognise_anyone(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    bot.clock.advance(timedelta(days=1))  # the gate will want to record a new last-active day
    await bot.store.db.conn.execute("PRAGMA query_only=ON")
    calls = await bot.send(coordinator, "/invite")
    await bot.store.db.conn.execute("PRAGMA query_only=OFF")
    texts = [call.params.get("text", "") for call in calls if call.method == "sendMessage"]
    assert any("temporarily unavailable" in text for text in texts)
    assert not any("Who are you inviting?" in text for text in texts)
    assert "RuntimeError" not in bot.logs()
