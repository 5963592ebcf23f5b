"""Deleting the bot's tracked messages in Telegram, then forgetting them in the outbox.

A message Telegram no longer has (400 "message to delete not found", or 403 because the member
blocked the bot) counts as deleted; any other failure leaves the row so the deletion job retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain import TrackedMessage
from storage.store import Store

log = logging.getLogger(__name__)


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


async def delete_tracked(bot: Bot, store: Store, messages: Iterable[TrackedMessage]) -> int:
    gone = [message.id for message in messages if await delete_in_chat(bot, message.chat_id, message.message_id)]
    if gone:
        async with store.write() as uow:
            await uow.messages.forget(gone)
    return len(gone)
