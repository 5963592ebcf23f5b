"""Small helpers for replying: one place decides silent sends, keyboards and callback answers."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

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
    if update.callback_query is not None:
        await update.callback_query.answer()
    return await chat.send_message(text, reply_markup=keyboard(rows), disable_notification=silent)


async def answer_button(update: Update, text: str | None = None) -> None:
    """Acknowledge a button press so the client stops its spinner; `text` shows as a short toast."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200] if text else None)
