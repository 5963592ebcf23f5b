"""Multi-step conversations without PTB's in-memory ConversationHandler.

A flow is a name and a table of steps. The member's current step and the data gathered so far live
sealed in the `conversations` table, so a restart resumes where they were and nothing is pickled.
Typed text goes to the current step; buttons carry their own action tokens; /cancel clears it all.

A step function has the signature `async def step(update, context, data, text) -> None` and calls
`goto`, `finish` or nothing (stay on the same step, e.g. after a bad value).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.domain import Role
from handlers.context import BotContext
from handlers.screens import deny
from handlers.ui import delete_typed

Step = Callable[[Update, BotContext, dict[str, Any], str], Awaitable[None]]
_FLOWS: dict[str, dict[str, Step]] = {}
_ROLES: dict[str, tuple[Role, ...]] = {}  # flow -> roles whose typed text it may take
_CANCELLED: dict[str, str] = {}  # flow -> what /cancel says (default: nothing was saved)

MAX_TEXT = 2000  # longer messages are refused before any step sees them


def register_flows(flows: dict[str, dict[str, Step]], roles: dict[str, tuple[Role, ...]] | None = None,
                   cancelled: dict[str, str] | None = None) -> None:
    """`roles` names who may be in each flow; the router checks it once, so steps need not. `cancelled`:
    what /cancel says for a flow whose steps already did something (a message went), where "nothing
    was saved" would be untrue."""
    _FLOWS.update(flows)
    _ROLES.update(roles or {})
    _CANCELLED.update(cancelled or {})


async def cancel(context: BotContext) -> str | None:
    """End the member's flow; what to tell them, or None when there was none."""
    state = await current(context)
    if not await finish(context):
        return None
    return _CANCELLED.get(state[0] if state else "", "Stopped. Nothing was saved. Send /help to see what you can do.")


async def goto(context: BotContext, flow: str, step: str, data: dict[str, Any]) -> None:
    async with context.store.write() as uow:
        await uow.conversations.put(context.me.id, flow, step, data)


async def finish(context: BotContext) -> bool:
    async with context.store.write() as uow:
        return await uow.conversations.clear(context.me.id)


async def current(context: BotContext) -> tuple[str, str, dict[str, Any]] | None:
    async with context.store.read() as uow:
        return await uow.conversations.get(context.me.id)


async def route_text(update: Update, context: BotContext) -> bool:
    """Give typed text to the member's current step. False when no flow is waiting for text."""
    state = await current(context)
    if state is None:
        return False
    flow, step, data = state
    handler = _FLOWS.get(flow, {}).get(step)
    if handler is None:  # a step that no longer exists after an upgrade: start over cleanly
        await finish(context)
        return False
    if flow in _ROLES and context.me.role not in _ROLES[flow]:
        await finish(context)
        await deny(update, context)
        return True
    text = update.message.text or ""
    if len(text) > MAX_TEXT:
        # Refused before any step sees it, so no step could delete it: it may hold a name, a family's
        # request, a prisoner's notes. It leaves the chat like every refused answer that carries details.
        await delete_typed(update, context.bot)
        await update.message.chat.send_message(
            context.t("That is too long. Please keep it under {limit} characters, or send /cancel to stop.",
                      limit=MAX_TEXT)
        )
        return True
    await handler(update, context, data, text)
    return True
