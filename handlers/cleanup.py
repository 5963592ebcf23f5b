"""Deleting the bot's tracked messages in Telegram, then forgetting them in the outbox.

A message Telegram no longer has (400 "message to delete not found", or 403 because the member
blocked the bot) counts as deleted; any other failure leaves the row so the deletion job retries.
Several messages in one chat go in one deleteMessages call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain import TrackedMessage
from handlers.recent import RecentMessages
from storage.store import Store

log = logging.getLogger(__name__)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


async def delete_in_chat(bot: Bot, chat_id: int, message_id: int) -> bool:
    """True when the message is gone from the chat (deleted now or already gone)."""
    try:
        await bot.delete_message(chat_id, message_id)
    except (BadRequest, Forbidden):
        return True  # not found, too old to delete, or the chat is closed to us: nothing more to do
    except TelegramError as error:
        log.warning("delete failed, will retry: %s", type(error).__name__)
        return False
    return True


async def delete_many_in_chat(bot: Bot, chat_id: int, message_ids: list[int]) -> bool:
    """Up to 100 messages of one chat in one call (deleteMessages skips ids that are already gone)."""
    if len(message_ids) == 1:
        return await delete_in_chat(bot, chat_id, message_ids[0])
    try:
        await bot.delete_messages(chat_id, message_ids)
    except (BadRequest, Forbidden):
        return True
    except TelegramError as error:
        log.warning("delete failed, will retry: %s", type(error).__name__)
        return False
    return True


async def delete_tracked(bot: Bot, store: Store, messages: Iterable[TrackedMessage]) -> int:
    """Delete in Telegram, one call per chat (a panic clears a whole chat at once), then forget them."""
    by_chat: dict[int, list[TrackedMessage]] = {}
    for message in messages:
        by_chat.setdefault(message.chat_id, []).append(message)
    gone: list[int] = []
    for chat_id, tracked in by_chat.items():
        for start in range(0, len(tracked), DELETE_BATCH):
            batch = tracked[start:start + DELETE_BATCH]
            if await delete_many_in_chat(bot, chat_id, [message.message_id for message in batch]):
                gone += [message.id for message in batch]
    if gone:
        async with store.write_one() as uow:
            await uow.messages.forget(gone)
    return len(gone)


async def delete_later(store: Store, member_id: int, message: Message | None, kind: str, hours: int) -> None:
    """Into the sealed outbox: a message that carries a name leaves the chat after `hours` (or at once on
    /panic, /lockdown or a freeze), so a coordinator's phone does not keep every card ever opened."""
    if message is None:
        return
    async with store.write_one() as uow:
        await uow.messages.track(member_id=member_id, kind=kind, chat_id=message.chat_id,
                                 message_id=message.message_id, delete_after=uow.clock.now() + timedelta(hours=hours))


async def clear_chat(bot: Bot, store: Store, recent: RecentMessages, messages: Iterable[TrackedMessage],
                     chat_id: int) -> None:
    """A panic, a freeze, a revoke, a missed check-in: the member's tracked messages, then everything noted
    in their chat in the last 47 hours (handlers/recent.py: the run lists and reminders too), 100 ids per
    call. Best effort for the second: what fails stays (and a restart forgets what was noted)."""
    await delete_tracked(bot, store, messages)
    if not chat_id:
        return
    ids = recent.take(chat_id)
    for start in range(0, len(ids), DELETE_BATCH):
        await delete_many_in_chat(bot, chat_id, ids[start:start + DELETE_BATCH])
