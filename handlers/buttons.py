"""One dispatcher for every inline button: redeem the token, then call the action's handler.

Action handlers receive the payload the bot itself stored; they still re-check the member's role and
ownership, because a token only proves who the button was shown to, not that it is still allowed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.services import buttons
from handlers.context import BotContext

Action = Callable[[Update, BotContext, dict[str, Any]], Awaitable[None]]
_ACTIONS: dict[str, Action] = {}


def register_actions(actions: dict[str, Action]) -> None:
    _ACTIONS.update(actions)


async def keyboard_for(context: BotContext, rows: list[list[buttons.Choice]]) -> list[list[tuple[str, str]]]:
    return await buttons.issue(context.store, context.me.id, rows, ttl_hours=context.runtime.config.callback_ttl_hours)


async def dispatch(update: Update, context: BotContext) -> None:
    """Redeem and route; an unknown or spent token gets a short toast and nothing else."""
    query = update.callback_query
    redeemed = await buttons.redeem(context.store, query.data or "", context.me.id)
    if redeemed is None or redeemed[0] not in _ACTIONS:
        await query.answer(context.t("This button has expired. Send the command again."))
        return
    action, payload = redeemed
    await _ACTIONS[action](update, context, payload)
