"""/plan's "Change" button on a draft: move a parcel to another run or into a new one (a split), or merge
two runs. The rules are the service's (bot/services/plan_edits.py); every screen ends on the plan again."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from telegram import Update

from bot.services import plan_edits
from bot.services.buttons import Choice
from bot.services.errors import DomainError, NotAllowed, RunTooBig
from handlers.context import BotContext
from handlers.runs import run_text, show_plan
from handlers.screens import CATEGORY_LABELS, deny, show, weight_parts
from handlers.ui import answer_button

log = logging.getLogger(__name__)

CANNOT = "That change is not possible any more: the plan has changed or the task is published. Send /plan."


TOO_BIG = "That would be more than one task can carry, or more tasks than that window takes."


async def _refused(update: Update, context: BotContext, error: DomainError) -> None:
    if isinstance(error, RunTooBig):
        text = TOO_BIG
    else:
        text = CANNOT if isinstance(error, NotAllowed) else "This is no longer available."
    await answer_button(update, context.t(text))


async def _view(update: Update, context: BotContext, run_id: int) -> plan_edits.DraftView | None:
    """The draft for a coordinator's screen, or None once the member was answered (not theirs, gone)."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return None
    try:
        return await plan_edits.draft_view(context.store, context.me, run_id, context.runtime.config.tz)
    except DomainError as error:
        await _refused(update, context, error)
        return None


async def change(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """One draft run: its parcels, each with Move, and Merge when the facility has another draft that week."""
    view = await _view(update, context, payload["run"])
    if view is None:
        return
    t, page = context.t, payload.get("page", 0)
    lines = [run_text(context, view.line, places=False)]
    rows: list[list[Choice]] = []
    for parcel in view.parcels:
        kinds = ", ".join(t(CATEGORY_LABELS.get(kind, "Other")) for kind in parcel.categories)
        lines.append("• " + " · ".join([parcel.alias, *weight_parts(t, parcel.weight_g), kinds]))
        rows.append([Choice(t("Move {alias}", alias=parcel.alias), "plan.move_to",
                            {"run": view.line.id, "parcel": parcel.id, "page": page})])
    if view.siblings:
        rows.append([Choice(t("Merge {code} into another task", code=view.line.code), "plan.merge_into",
                            {"run": view.line.id, "page": page})])
    rows.append([Choice(t("Back to the plan"), "plan.page", {"week": view.week_start.toordinal(), "page": page})])
    await show(update, context, "\n".join(lines), rows, edit=True)


async def move_to(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Where the parcel may go: the facility's other drafts that week, or a new task in the same window."""
    view = await _view(update, context, payload["run"])
    if view is None:
        return
    t = context.t
    rows = [[Choice(run_text(context, sibling, places=False), "plan.move",
                    {**payload, "to": sibling.id})] for sibling in view.siblings]
    if len(view.parcels) > 1:
        rows.append([Choice(t("A new task in the same window (split {code})", code=view.line.code), "plan.move",
                            {**payload, "to": 0})])
    if not rows:
        await answer_button(update, t("There is nowhere to move it: this is the only task for that place this "
                                      "week and it carries nothing else."))
        return
    rows.append([Choice(t("Back"), "plan.change", {"run": payload["run"], "page": payload.get("page", 0)})])
    await show(update, context, t("Move the parcel to:"), rows, edit=True)


async def move(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t = context.t
    try:
        moved = await plan_edits.move_parcel(context.store, context.me, payload["run"], payload["parcel"],
                                             payload["to"] or None, context.runtime.config.tz)
    except DomainError as error:
        await _refused(update, context, error)
        return
    log.info("plan changed: parcel moved by member=%s", context.me.id)
    done = t("{alias} moved to {code}.", alias=moved.alias, code=moved.to_code)
    if moved.emptied:
        done += " " + t("{code} carried nothing else and is gone.", code=moved.emptied)
    await show_plan(update, context, moved.week_start, note=done, edit=True, page=payload.get("page", 0))


async def merge_into(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    view = await _view(update, context, payload["run"])
    if view is None:
        return
    t = context.t
    page = payload.get("page", 0)
    rows = [[Choice(run_text(context, sibling, places=False), "plan.merge",
                    {"run": view.line.id, "into": sibling.id, "page": page})] for sibling in view.siblings]
    rows.append([Choice(t("Back"), "plan.change", {"run": view.line.id, "page": page})])
    await show(update, context, t("Merge {code} into:", code=view.line.code), rows, edit=True)


async def merge(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    try:
        merged, kept, week_start = await plan_edits.merge(context.store, context.me, payload["run"], payload["into"],
                                                          context.runtime.config.tz)
    except DomainError as error:
        await _refused(update, context, error)
        return
    log.info("plan changed: runs merged by member=%s", context.me.id)
    await show_plan(update, context, week_start, note=context.t("{merged} merged into {kept}.", merged=merged,
                                                                kept=kept), edit=True, page=payload.get("page", 0))


async def leaf(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Leaf through the plan, or come back to it from a change screen."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    await show_plan(update, context, date.fromordinal(payload["week"]), edit=True, page=payload.get("page", 0))


ACTIONS = {
    "plan.change": change, "plan.move_to": move_to, "plan.move": move, "plan.merge_into": merge_into,
    "plan.merge": merge, "plan.page": leaf,
}
COMMANDS: dict = {}
