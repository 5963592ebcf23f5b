"""/needs (coordinators): open needs by alias, post a need (with the allowance's warning), close one, and
the anonymous counts for fundraisers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update

from bot.domain import NeedCategory, NeedStatus, Role, Urgency
from bot.services import inputs
from bot.services import needs as service
from bot.services import prisoners as prisoner_service
from bot.services.buttons import Choice
from bot.services.errors import NotAllowed, NotFound
from handlers import flows
from handlers.cleanup import delete_later
from handlers.context import BotContext
from handlers.screens import (
    CATEGORY_LABELS,
    bad_input,
    day_text,
    deny,
    page_of,
    page_turns,
    show,
    today,
    use_buttons,
    weight_parts,
)
from handlers.ui import answer_button, reply

FLOW = "need"
# Why the allowance cannot take a need now, as the coordinator reads it.
REFUSALS = {
    "suspended": "Parcel rights are suspended; it can go from {day}.",
    "refused_category": "This facility refuses this kind of item; it may not get in at all.",
    "goods_parcel_only": "This goes in only with the goods parcel, not with a food parcel.",
    "no_parcels_left": "No parcels left this year; it can go from {day}.",
    "no_weight_left": "Not enough weight left this month; it can go from {day}.",
}


def _is_coordinator(context: BotContext) -> bool:
    return context.me.is_coordinator


def _need_line(t, line: service.NeedLine) -> str:
    need = line.need
    urgent = "❗ " if need.urgency is Urgency.URGENT else ""
    parts = [t(need.status.value), t(CATEGORY_LABELS[need.category.value]), line.alias,
             *weight_parts(t, need.weight_g)]
    if need.due_on:
        parts.append(f"{t('due')} {day_text(need.due_on)}")
    return urgent + " · ".join(parts)


DETAILS_KIND = "need_details"  # outbox kind: a need's details in a coordinator's chat, gone within a day
NEEDS_PAGE = 15  # lines, each with its button: at full scale there are thousands of open needs


async def needs(update: Update, context: BotContext) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _needs_page(update, context)


async def needs_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _needs_page(update, context, payload.get("page", 0), edit=True)


async def _needs_page(update: Update, context: BotContext, page: int = 0, *, edit: bool = False) -> None:
    """Open needs, most urgent first, a page at a time, each line with a button to open it."""
    t = context.t
    lines_ = await service.open_needs(context.store, context.me)
    shown, page, pages = page_of(lines_, page, NEEDS_PAGE)
    header = [t("Open needs ({count}):", count=len(lines_))] if lines_ else [t("No open needs.")]
    if pages > 1:
        header.append(t("page {page} of {pages}", page=page + 1, pages=pages))
    text = "\n".join(header + [_need_line(t, line) for line in shown])
    rows = [[Choice(f"{line.alias} · {t(CATEGORY_LABELS[line.need.category.value])}", "need.open",
                    {"id": line.need.id, "page": page}, single_use=False)] for line in shown]
    turns = page_turns(t, "need.list", page, pages)
    if turns:
        rows.append(turns)
    rows.append([Choice(t("Post a need"), "need.start", {}),
                 Choice(t("List for fundraisers"), "need.fundraisers", {}, single_use=False)])
    await show(update, context, text, rows, edit=edit)


async def fundraisers(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Counts by category and area: safe to copy to a public fundraiser, nothing per person."""
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    counts = await service.fundraiser_counts(context.store, context.me)
    if not counts:
        await show(update, context, t("No open needs."))
        return
    lines = [t("Open needs by kind and area:")]
    lines += [f"{t(CATEGORY_LABELS.get(category, category))} · {area or t('area not set')}: {count}"
              for category, area, count in counts]
    await show(update, context, "\n".join(lines))


async def need_open(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    try:
        line = await service.need_line(context.store, context.me, payload["id"])
    except (NotFound, NotAllowed):
        await answer_button(update, t("This need is no longer here."))
        return
    rows = [[Choice(t("Fulfilled"), "need.status", {"id": payload["id"], "status": "fulfilled"}),
             Choice(t("Cancel the need"), "need.status", {"id": payload["id"], "status": "cancelled"})],
            [Choice(t("Back to the list"), "need.list", {"page": payload.get("page", 0)})]]
    text = [_need_line(t, line)]
    if line.need.details:  # what exactly, how much: sealed at rest, so shown like a card
        text.append(t("Details: {text}", text=line.need.details))
    text.append(t("Close this need?"))
    shown = await show(update, context, "\n".join(text), rows, silent=bool(line.need.details))
    if line.need.details:
        await delete_later(context.store, context.me.id, shown, DETAILS_KIND, hours=24)


async def need_status(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context) or payload.get("status") not in ("fulfilled", "cancelled"):
        await deny(update, context)
        return
    try:
        need = await service.set_status(context.store, context.me, payload["id"], NeedStatus(payload["status"]))
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This need is no longer here."))
        return
    await reply(update, context.t("Done: the need is {status}.", status=context.t(need.status.value)))


# Posting ------------------------------------------------------------------------------------------------


async def need_start(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """From a prisoner's card (the prisoner is known) or from /needs (ask for the alias first)."""
    if not _is_coordinator(context):
        await deny(update, context)
        return
    if payload.get("id") is None:
        await flows.goto(context, FLOW, "alias", {})
        await show(update, context, context.t("For whom? Send the alias, e.g. Iris-123. Send /cancel to stop."))
        return
    await _ask_category(update, context, {"prisoner": payload["id"]})


async def on_alias(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    try:
        found = await prisoner_service.search(context.store, context.me, text)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    if len(found) != 1:
        await reply(update, context.t("Please send one alias exactly as the list shows it, or /cancel."))
        return
    await _ask_category(update, context, {"prisoner": found[0].id})


async def _ask_category(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    await flows.goto(context, FLOW, "category", data)
    rows = [[Choice(t(label), "need.category", {"category": key})] for key, label in CATEGORY_LABELS.items()]
    await show(update, context, t("What is needed? Send /cancel to stop."), rows)


async def _state(update: Update, context: BotContext, step: str) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != FLOW or state[1] != step or not _is_coordinator(context):
        await deny(update, context)
        return None
    return state[2]


async def on_category(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "category")
    if data is None or payload.get("category") not in CATEGORY_LABELS:
        return
    data["category"] = payload["category"]
    await flows.goto(context, FLOW, "details", data)
    if NeedCategory(data["category"]).weighed:
        ask = context.t("Any details (what exactly, sizes, brands)? Up to {high} characters, or - for none.",
                        high=inputs.MAX_DETAILS)
    else:
        ask = context.t("How much, and any details? Up to {high} characters, or - for none.", high=inputs.MAX_DETAILS)
    await show(update, context, ask)


async def on_details(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    if not await _typed(update, context, data, "details", lambda: inputs.optional_text(text, inputs.MAX_DETAILS)):
        return
    if NeedCategory(data["category"]).weighed:
        await flows.goto(context, FLOW, "weight", data)
        await reply(update, context.t("About how much does it weigh, in kg? E.g. 2.5."))
    else:  # paid into the account, not carried: no weight to ask for
        data["weight_g"] = 0
        await _ask_urgency(update, context, data)


async def on_weight(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    if await _typed(update, context, data, "weight_g", lambda: inputs.weight_g(text)):
        await _ask_urgency(update, context, data)


async def _ask_urgency(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.goto(context, FLOW, "urgency", data)
    t = context.t
    rows = [[Choice(t("Normal"), "need.urgency", {"urgency": "normal"}),
             Choice(t("Urgent"), "need.urgency", {"urgency": "urgent"})]]
    await show(update, context, t("How urgent is it?"), rows)


async def on_urgency(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "urgency")
    if data is None or payload.get("urgency") not in ("normal", "urgent"):
        return
    data["urgency"] = payload["urgency"]
    await flows.goto(context, FLOW, "due", data)
    await show(update, context, context.t("By when? Send the date as 25.12 or 25.12.2026, or - for no date."))


async def on_due(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    def parse():
        return None if inputs.is_none(text) else inputs.day(text, today(context)).isoformat()

    if await _typed(update, context, data, "due_on", parse):
        await _save(update, context, data)


async def _typed(update: Update, context: BotContext, data: dict[str, Any], key: str, parse) -> bool:
    try:
        data[key] = parse()
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return False
    return True


async def _save(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    try:
        posted = await service.post_need(
            context.store, context.me, prisoner_id=data["prisoner"], category=NeedCategory(data["category"]),
            weight_g=data["weight_g"], urgency=Urgency(data["urgency"]), details=data["details"],
            due_on=date.fromisoformat(data["due_on"]) if data.get("due_on") else None, today=today(context))
    except (NotFound, NotAllowed):
        await flows.finish(context)
        await reply(update, t("This person is no longer on the list, or was released."))
        return
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.finish(context)
    lines = [t("The need is posted.")]
    if posted.refusal:
        lines.append(t("Warning: {why}", why=t(REFUSALS[posted.refusal], day=day_text(posted.possible_from))))
    await reply(update, "\n".join(lines))



COMMANDS = {"needs": needs}
ACTIONS = {
    "need.start": need_start,
    "need.list": needs_page,
    "need.category": on_category,
    "need.urgency": on_urgency,
    "need.open": need_open,
    "need.status": need_status,
    "need.fundraisers": fundraisers,
}
FLOWS = {FLOW: {
    "alias": on_alias, "category": use_buttons, "details": on_details, "weight": on_weight, "urgency": use_buttons,
    "due": on_due,
}}
FLOW_ROLES = {FLOW: (Role.COORDINATOR,)}
