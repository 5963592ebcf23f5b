"""Shared bits of the coordinators' and families' screens: labels, dates, edit-or-send, refusals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.error import TelegramError

from bot.i18n import format_kg
from bot.services.buttons import Choice
from bot.services.inputs import InputError
from handlers.buttons import keyboard_for
from handlers.context import BotContext
from handlers.ui import answer_button, answering, keyboard, reply

T = TypeVar("T")
UNKNOWN = "I did not understand that. Send /help to see what you can do."
EXPIRED = "This button has expired. Send the command again."
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CATEGORY_LABELS = {
    "food": "Food", "hygiene": "Hygiene", "vitamins": "Vitamins", "medicine": "Medicine", "clothes": "Clothes",
    "money": "Money to the prison account", "other": "Other",
}
KIND_LABELS = {
    "sizo": "SIZO", "tsip_ivs": "TsIP / IVS", "colony": "Colony", "open_institution": "Open institution",
    "house_arrest": "House arrest", "other": "Other",
}
STATUS_LABELS = {
    "pre_trial": "pre-trial", "sentenced": "sentenced", "transferred": "transferred", "released": "released",
}


def today(context: BotContext) -> date:
    """Today in the configured time zone: what "this month" and "not in the past" mean to people."""
    runtime = context.runtime
    return runtime.clock.now().astimezone(runtime.config.tz).date()


def day_text(day: date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else "—"


def kg_text(t, grams: int) -> str:
    return format_kg(grams / 1000, t.language)


def weight_parts(t, grams: int) -> list[str]:
    """"2.5 kg" ("2,5 кг") for a line's parts, or nothing for what weighs nothing (money paid in)."""
    return [t("{kg} kg", kg=kg_text(t, grams))] if grams else []


async def show(update: Update, context: BotContext, text: str, rows: list[list[Choice]] | None = None,
               *, edit: bool = False, silent: bool = False) -> Message | None:
    """Send a new message, or edit the one the pressed button sits on (toggle screens). `silent` for a
    message that carries details (a name, a family's words): no sound for whoever is near the phone."""
    markup = keyboard(await keyboard_for(context, rows)) if rows else None
    query = update.callback_query
    if edit and query is not None and query.message is not None and getattr(query.message, "text", None):
        try:
            return await answering(update, query.edit_message_text(text[:4096], reply_markup=markup))
        except TelegramError:
            pass  # e.g. "message is not modified": fall through to a fresh message (its answer then fails quietly)
    # The press's answer and the new screen travel together: one round trip to Telegram, not two.
    return await answering(update, update.effective_chat.send_message(text[:4096], reply_markup=markup,
                                                                      disable_notification=silent))


def page_of(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """One page of a long list: its items, the page asked for (kept in range) and how many pages."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return items[page * size:(page + 1) * size], page, pages


def page_turns(t, action: str, page: int, pages: int, **payload: Any) -> list[Choice]:
    """Previous / Next, where there is such a page; lasting, so a list can be leafed back and forth."""
    turns = []
    if page > 0:
        turns.append(Choice(t("Previous"), action, {**payload, "page": page - 1}, single_use=False))
    if page < pages - 1:
        turns.append(Choice(t("Next"), action, {**payload, "page": page + 1}, single_use=False))
    return turns


PICK_PAGE = 30  # buttons to pick from per page (facilities): well under Telegram's cap on a message's buttons


def pick_rows(t, items: Sequence[T], page: int, choose: Callable[[T], Choice], turn_action: str,
              **turn_payload: Any) -> list[list[Choice]]:
    """One button per item, a page at a time, with Previous / Next when there are more: no item is ever
    out of reach however long the list grows. `turn_action` shows the same picker at `page`."""
    shown, page, pages = page_of(items, page, PICK_PAGE)
    rows = [[choose(item)] for item in shown]
    turns = page_turns(t, turn_action, page, pages, **turn_payload)
    return rows + ([turns] if turns else [])


async def deny(update: Update, context: BotContext) -> None:
    """What anyone without the right role gets: the same as an unknown command or an expired button."""
    if update.callback_query is not None:
        await answer_button(update, context.t(EXPIRED))
    else:
        await reply(update, context.t(UNKNOWN))


async def use_buttons(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    """Typed text on a flow step that takes buttons: say so and stay on the step."""
    await reply(update, context.t("Please choose with the buttons above, or send /cancel to stop."))


async def bad_input(update: Update, context: BotContext, error: InputError) -> None:
    """Say what is expected; the conversation stays on the same step."""
    await reply(update, context.t(error.message, **error.values) + "\n" + context.t("Or send /cancel to stop."))
