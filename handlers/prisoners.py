"""/prisoners (coordinators): list by alias, search, by facility, "not reached", add, the audited card,
edit, transfer and release. Full names appear only on the card of one prisoner.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain import Allowance, Prisoner, PrisonerStatus, Role
from bot.i18n import format_kg
from bot.services import facilities as facility_service
from bot.services import inputs
from bot.services import prisoners as service
from bot.services.buttons import Choice
from bot.services.errors import NotAllowed, NotFound
from handlers import flows
from handlers.cleanup import delete_later
from handlers.context import BotContext
from handlers.screens import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    bad_input,
    day_text,
    deny,
    page_of,
    page_turns,
    pick_rows,
    show,
    today,
    use_buttons,
    weight_parts,
)
from handlers.ui import answer_button, delete_typed, reply

FLOW = "prisoner"
PAGE = 20
CARD_KIND = "card"  # outbox kind: a prisoner's card in a coordinator's chat
EDIT_FIELDS = {"full_name": "Full name", "birth_year": "Year of birth", "regime": "Regime",
               "suspended_until": "Parcels suspended until", "notes": "Notes"}


def allowance_text(t, allowance: Allowance) -> str:
    parts = []
    if allowance.suspended_until is not None:
        parts.append(t("parcels suspended until {day}", day=day_text(allowance.suspended_until)))
    if allowance.kg_left_month is not None:
        parts.append(t("{kg} kg left this month", kg=format_kg(allowance.kg_left_month, t.language)))
    if allowance.parcels_left_year is not None:
        parts.append(t("{count} parcels left this year", count=allowance.parcels_left_year))
    if allowance.next_allowed_on is not None:
        parts.append(t("next parcel from {day}", day=day_text(allowance.next_allowed_on)))
    return "; ".join(parts) or t("no known limits")


def _is_coordinator(context: BotContext) -> bool:
    return context.me.is_coordinator


# Lists -------------------------------------------------------------------------------------------------


async def prisoners(update: Update, context: BotContext) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _list(update, context, None)


async def _list(update: Update, context: BotContext, facility_id: int | None) -> None:
    t = context.t
    people = await service.list_prisoners(context.store, context.me, facility_id=facility_id)
    names = {f.id: f.name for f in await facility_service.list_facilities(context.store)}
    lines = [t("People ({count}):", count=len(people))] if people else [t("Nobody on the list yet.")]
    lines += [f"{t(STATUS_LABELS[p.status.value])} · {p.alias} · {names.get(p.facility_id, '—')}"
              for p in people[:PAGE]]
    if len(people) > PAGE:
        lines.append(t("…and {count} more: use Search.", count=len(people) - PAGE))
    rows = [[Choice(p.alias, "prisoner.open", {"id": p.id}, single_use=False) for p in people[i:i + 3]]
            for i in range(0, min(len(people), PAGE), 3)]
    rows.append([Choice(t("Add"), "prisoner.add", {}), Choice(t("Search"), "prisoner.search", {})])
    rows.append([Choice(t("By facility"), "prisoner.facilities", {}),
                 Choice(t("Not reached"), "prisoner.not_reached", {}, single_use=False)])
    await show(update, context, "\n".join(lines), rows)


async def by_facility(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    if "id" in payload:
        await _list(update, context, payload["id"])
        return
    items = await facility_service.list_facilities(context.store)
    rows = pick_rows(context.t, items, payload.get("page", 0),
                     lambda f: Choice(f.name[:60], "prisoner.facilities", {"id": f.id}, single_use=False),
                     "prisoner.facilities")
    await show(update, context, context.t("Which facility?"), rows, edit="page" in payload)


NOT_REACHED_PAGE = 15  # names a page, three buttons a row


async def not_reached(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Open needs and no parcel for 4 weeks: never reached first, then longest waiting."""
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    waiting = await service.not_reached(context.store, context.me, today(context))
    if not waiting:
        await show(update, context, t("Everyone with open needs got a parcel in the last {weeks} weeks.",
                                      weeks=service.NOT_REACHED_WEEKS))
        return
    shown, page, pages = page_of(waiting, payload.get("page", 0), NOT_REACHED_PAGE)
    lines = [t("Not reached for {weeks} weeks or more:", weeks=service.NOT_REACHED_WEEKS)]
    if pages > 1:
        lines.append(t("page {page} of {pages}", page=page + 1, pages=pages))
    for item in shown:
        if item.never_reached:
            lines.append(t("{alias} · never reached · needs open since {day}", alias=item.prisoner.alias,
                           day=day_text(item.waiting_since)))
        else:
            lines.append(t("{alias} · last parcel {day}", alias=item.prisoner.alias, day=day_text(item.waiting_since)))
    rows = [[Choice(w.prisoner.alias, "prisoner.open", {"id": w.prisoner.id}, single_use=False)
             for w in shown[i:i + 3]] for i in range(0, len(shown), 3)]
    turns = page_turns(t, "prisoner.not_reached", page, pages)
    if turns:
        rows.append(turns)
    await show(update, context, "\n".join(lines), rows, edit="page" in payload)


async def search_start(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await flows.goto(context, FLOW, "search", {})
    await show(update, context, context.t("Send an alias or a part of it. Send /cancel to stop."))


async def search_text(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    try:
        found = await service.search(context.store, context.me, text)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.finish(context)
    t = context.t
    if not found:
        await reply(update, t("Nobody found. Send /prisoners to try again."))
        return
    rows = [[Choice(p.alias, "prisoner.open", {"id": p.id}, single_use=False)] for p in found]
    await show(update, context, t("Found {count}:", count=len(found)), rows)


# The card ------------------------------------------------------------------------------------------------


def card_text(t, card: service.PrisonerCard) -> str:
    p = card.prisoner
    status = t(STATUS_LABELS[p.status.value]) + (f" ({p.regime})" if p.regime else "")
    lines = [
        f"{p.alias} · {status}",
        t("Name: {name}, born {year}", name=p.full_name, year=p.birth_year),
        t("Facility: {name}", name=card.facility.name if card.facility else "—"),
        t("Allowance: {text}", text=allowance_text(t, card.allowance)),
        t("Last parcel: {day}", day=day_text(p.last_parcel_on)),
    ]
    if p.notes:
        lines.append(t("Notes: {notes}", notes=p.notes))
    if card.needs:
        lines.append(t("Needs:"))
        lines += [" · ".join([t(n.status.value), t(CATEGORY_LABELS[n.category.value]), *weight_parts(t, n.weight_g),
                              *([day_text(n.due_on)] if n.due_on else [])])
                  for n in card.needs]
    if card.transfers:
        lines.append(t("Moved {count} time(s), last on {day}", count=len(card.transfers),
                       day=day_text(card.transfers[-1].moved_on)))
    return "\n".join(lines)


async def prisoner_open(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    try:
        card = await service.prisoner_card(context.store, context.me, payload["id"], today(context))
    except (NotFound, NotAllowed):
        await answer_button(update, t("This person is no longer on the list."))
        return
    target = {"id": card.prisoner.id}
    rows = []
    if card.prisoner.status is not PrisonerStatus.RELEASED:
        rows.append([Choice(t("Post a need"), "need.start", target)])
        rows.append([Choice(t("Edit"), "prisoner.edit", target), Choice(t("Transfer"), "prisoner.transfer", target),
                     Choice(t("Release"), "prisoner.release", target)])
    # Shown only on an explicit tap (it carries a full name), protected like every message, and deleted
    # within a day (at once on /panic, /lockdown or a freeze).
    await delete_later(context.store, context.me.id, await show(update, context, card_text(t, card), rows, silent=True),
                       CARD_KIND, hours=24)


async def edit_menu(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    rows = [[Choice(t(label), "prisoner.field", {"id": payload["id"], "field": key})]
            for key, label in EDIT_FIELDS.items()]
    rows.append([Choice(t(STATUS_LABELS[s.value]).capitalize(), "prisoner.status", {"id": payload["id"],
                                                                                  "status": s.value})
                 for s in (PrisonerStatus.PRE_TRIAL, PrisonerStatus.SENTENCED, PrisonerStatus.TRANSFERRED)])
    await show(update, context, t("What do you want to change?"), rows)


async def edit_field(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context) or payload.get("field") not in EDIT_FIELDS:
        await deny(update, context)
        return
    await flows.goto(context, FLOW, "field", {"id": payload["id"], "field": payload["field"]})
    prompts = {
        "full_name": "Send the full name.", "birth_year": "Send the year of birth, e.g. 1985.",
        "regime": "Send the regime, e.g. general or strict, or - for none.",
        "suspended_until": "Send the date parcels are suspended until, as 25.12.2026, or - to lift it.",
        "notes": "Send the notes, or - for none.",
    }
    await show(update, context, context.t(prompts[payload["field"]]) + " " + context.t("Send /cancel to stop."))


def _parse_field(field: str, text: str, context: BotContext) -> Any:
    if field == "full_name":
        return inputs.full_name(text)
    if field == "birth_year":
        return inputs.birth_year(text, today(context))
    if field == "regime":
        return service.regime(text)
    if field == "suspended_until":
        return None if inputs.is_none(text) else inputs.day(text, today(context))
    return inputs.optional_text(text, inputs.MAX_NOTES)


async def field_text(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    if data["field"] in ("full_name", "birth_year", "notes"):  # refused or not, it leaves the chat
        await delete_typed(update, context.bot)
    try:
        value = _parse_field(data["field"], text, context)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.finish(context)
    await _save(update, context, data["id"], **{data["field"]: value})


async def set_status(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context) or payload.get("status") not in STATUS_LABELS:
        await deny(update, context)
        return
    await _save(update, context, payload["id"], status=PrisonerStatus(payload["status"]))


async def _save(update: Update, context: BotContext, prisoner_id: int, **changes) -> None:
    try:
        prisoner = await service.update_prisoner(context.store, context.me, prisoner_id, **changes)
    except (NotFound, NotAllowed):
        await reply(update, context.t("This person is no longer on the list."))
        return
    await reply(update, context.t("Saved for {alias}.", alias=prisoner.alias))


async def _pick_transfer(update: Update, context: BotContext, prisoner_id: int, page: int = 0, *,
                         edit: bool = False) -> None:
    """Where to? Leafed by `prisoner.transfer.page`, which only shows: a page turn never moves anyone."""
    items = await facility_service.list_facilities(context.store)
    rows = pick_rows(context.t, items, page,
                     lambda f: Choice(f.name[:60], "prisoner.transfer", {"id": prisoner_id, "to": f.id}),
                     "prisoner.transfer.page", id=prisoner_id)
    await show(update, context, context.t("Where to?"), rows, edit=edit)


async def transfer_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _pick_transfer(update, context, payload["id"], payload.get("page", 0), edit=True)


async def transfer(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    if "to" not in payload:
        await _pick_transfer(update, context, payload["id"])
        return
    try:
        prisoner = await service.transfer(context.store, context.me, payload["id"], payload["to"], today(context))
    except (NotFound, NotAllowed):
        await answer_button(update, t("This person is no longer on the list."))
        return
    await reply(update, t("{alias} moved. Their open needs follow them.", alias=prisoner.alias))


async def release(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    if not payload.get("confirmed"):
        rows = [[Choice(t("Yes, released"), "prisoner.release", {**payload, "confirmed": True}),
                 Choice(t("Keep"), "noop", {})]]
        await show(update, context, t("Mark as released? Open needs are closed and drafts drop their parcels."), rows)
        return
    try:
        closed = await service.release(context.store, context.me, payload["id"])
    except (NotFound, NotAllowed):
        await answer_button(update, t("This person is no longer on the list."))
        return
    await reply(update, t("Marked as released; {count} open need(s) closed.", count=closed))


# Adding ---------------------------------------------------------------------------------------------------


async def add_start(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await flows.goto(context, FLOW, "name", {})
    await show(update, context, context.t("Send the full name, as the counter asks for it. Send /cancel to stop."))


async def add_name(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    await delete_typed(update, context.bot)  # refused or not, a name leaves the chat
    try:
        data["full_name"] = inputs.full_name(text)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.goto(context, FLOW, "year", data)
    await reply(update, context.t("Send the year of birth, e.g. 1985."))


async def add_year(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    await delete_typed(update, context.bot)
    try:
        data["birth_year"] = inputs.birth_year(text, today(context))
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.goto(context, FLOW, "facility", data)
    await _ask_add_facility(update, context)


async def _ask_add_facility(update: Update, context: BotContext, page: int = 0, *, edit: bool = False) -> None:
    t = context.t
    items = await facility_service.list_facilities(context.store)
    rows = pick_rows(t, items, page, lambda f: Choice(f.name[:60], "prisoner.add.facility", {"id": f.id}),
                     "prisoner.add.facilities")
    rows.append([Choice(t("Not known yet"), "prisoner.add.facility", {"id": None})])
    await show(update, context, t("Where is this person held?"), rows, edit=edit)


async def add_facilities_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Leafing through the places while adding a prisoner (the flow stays on its facility step)."""
    if await _add_state(update, context) is not None:
        await _ask_add_facility(update, context, payload.get("page", 0), edit=True)


async def add_facility(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _add_state(update, context)
    if data is None:
        return
    data["facility_id"] = payload.get("id")
    await flows.goto(context, FLOW, "status", data)
    t = context.t
    rows = [[Choice(t("Pre-trial"), "prisoner.add.status", {"status": "pre_trial"}),
             Choice(t("Sentenced"), "prisoner.add.status", {"status": "sentenced"})]]
    await show(update, context, t("Status?"), rows)


async def add_status(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _add_state(update, context)
    if data is None or payload.get("status") not in ("pre_trial", "sentenced"):
        return
    data["status"] = payload["status"]
    if data["status"] == "sentenced":
        await flows.goto(context, FLOW, "regime", data)
        await show(update, context, context.t("Send the regime, e.g. general or strict, or - for none."))
        return
    await _add_save(update, context, data)


async def add_regime(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    try:
        data["regime"] = service.regime(text)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await _add_save(update, context, data)


async def _add_state(update: Update, context: BotContext) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != FLOW or "birth_year" not in state[2] or not _is_coordinator(context):
        await deny(update, context)
        return None
    return state[2]


async def _add_save(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    try:
        prisoner: Prisoner = await service.add_prisoner(
            context.store, context.me, full_name=data["full_name"], birth_year=data["birth_year"],
            facility_id=data.get("facility_id"), status=PrisonerStatus(data["status"]), regime=data.get("regime", ""))
    except (NotFound, NotAllowed):
        await flows.finish(context)
        await reply(update, t("That facility is no longer on the list. Send /prisoners to start again."))
        return
    await flows.finish(context)
    rows = [[Choice(t("Open"), "prisoner.open", {"id": prisoner.id}, single_use=False),
             Choice(t("Post a need"), "need.start", {"id": prisoner.id})]]
    await show(update, context, t("Added as {alias}. Lists show only this alias.", alias=prisoner.alias), rows)



COMMANDS = {"prisoners": prisoners}
ACTIONS = {
    "prisoner.open": prisoner_open,
    "prisoner.add": add_start,
    "prisoner.add.facility": add_facility,
    "prisoner.add.facilities": add_facilities_page,
    "prisoner.add.status": add_status,
    "prisoner.search": search_start,
    "prisoner.facilities": by_facility,
    "prisoner.not_reached": not_reached,
    "prisoner.edit": edit_menu,
    "prisoner.field": edit_field,
    "prisoner.status": set_status,
    "prisoner.transfer": transfer,
    "prisoner.transfer.page": transfer_page,
    "prisoner.release": release,
}
FLOWS = {FLOW: {
    "search": search_text, "field": field_text, "name": add_name, "year": add_year, "regime": add_regime,
    "facility": use_buttons, "status": use_buttons,
}}
FLOW_ROLES = {FLOW: (Role.COORDINATOR,)}
