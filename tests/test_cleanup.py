"""Deleting tracked messages: one deleteMessages call per chat, and a failure keeps them for a retry."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Role
from handlers.cleanup import delete_tracked


async def _track(bot, person, count: int) -> list[int]:
    member = await bot.member(person)
    ids = []
    for n in range(count):
        sent = await bot.application.bot.send_message(person.chat_id, f"Details for your task {n}")
        async with bot.store.write() as uow:
            await uow.messages.track(member_id=member.id, kind="details", chat_id=person.chat_id,
                                     message_id=sent.message_id, delete_after=bot.clock.now() + timedelta(hours=1))
        ids.append(sent.message_id)
    return ids


async def _outbox(bot):
    async with bot.store.read() as uow:
        return await uow.messages.all()


async def test_a_chat_is_cleared_in_one_call(bot):
    await bot.join(Role.COORDINATOR)
    volunteer, family = await bot.join(Role.VOLUNTEER), await bot.join(Role.FAMILY)
    many, one = await _track(bot, volunteer, 3), await _track(bot, family, 1)
    mark = bot.api.mark()
    assert await delete_tracked(bot.application.bot, bot.store, await _outbox(bot)) == 4
    calls = [call for call in bot.api.calls[mark - bot.api._calls_base:] if call.method.startswith("delete")]
    assert sorted((call.method, call.params["chat_id"]) for call in calls) == sorted(
        [("deleteMessages", volunteer.chat_id), ("deleteMessage", family.chat_id)])
    assert sorted(bot.api.deleted_ids(volunteer.chat_id)) == sorted(many)
    assert bot.api.deleted_ids(family.chat_id) == one
    assert await _outbox(bot) == []


async def test_a_failed_batch_is_kept_for_the_next_round(bot):
    await bot.join(Role.COORDINATOR)
    volunteer = await bot.join(Role.VOLUNTEER)
    await _track(bot, volunteer, 2)
    bot.api.inject_fault("deleteMessages", "500")
    assert await delete_tracked(bot.application.bot, bot.store, await _outbox(bot)) == 0
    assert len(await _outbox(bot)) == 2
    assert await delete_tracked(bot.application.bot, bot.store, await _outbox(bot)) == 2
    assert await _outbox(bot) == []
