"""Small helpers for replying: one place decides silent sends, keyboards and callback answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

T = TypeVar("T")

Buttons = Sequence[Sequence[tuple[str, str]]]  # rows of (label, callback data)


def keyboard(rows: Buttons | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows if row]
    )


async def reply(update: Update, text: str, rows: Buttons | None = None, *, silent: bool = False) -> Message | None:
    """Answer in the member's private chat (the chat the update came from)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await answering(update, chat.send_message(text, reply_markup=keyboard(rows), disable_notification=silent))


async def answer_button(update: Update, text: str | None = None) -> None:
    """Acknowledge a button press so the client stops its spinner; `text` shows as a short toast."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200] if text else None)


async def answering(update: Update, work: Awaitable[T]) -> T:
    """Acknowledge the press while `work` (the reply) runs: with Telegram 50-100 ms away, one round trip
    instead of two. The work's own error is raised; a failed answer is not worth one (a press already
    answered earlier in the same handler, a network blip: the spinner stops by itself)."""
    if update.callback_query is None:
        return await work
    answered, result = await asyncio.gather(answer_button(update), work, return_exceptions=True)
    if isinstance(result, BaseException):
        raise result
    if isinstance(answered, BaseException) and not isinstance(answered, TelegramError):
        raise answered
    return result


async def together(*works: Awaitable[Any]) -> list[Any]:
    """Run replies that need no order between them at once; every one finishes before the first error
    (if any) is raised, so none is left running behind the handler."""
    results = await asyncio.gather(*works, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def delete_typed(update: Update, bot: Bot) -> None:
    """The member's own message leaves the chat (a name, a birth year, a family's request), once what it
    said is stored sealed or refused; if Telegram refuses (already gone, too old), the flow carries on."""
    message = update.message
    if message is None:
        return
    try:
        await bot.delete_message(message.chat_id, message.message_id)
    except TelegramError:
        pass
