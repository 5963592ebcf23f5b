"""Family requests: /request (a guided conversation), /status and withdraw for families; /requests for
coordinators (link or create a prisoner, turn into needs, decline).

Whatever a family types during /request may name their relative, so every typed message is deleted
from the chat right after it is stored (sealed) in the flow state. The summary that repeats the details
is protected and tracked for deletion. Coordinators are told only that something is waiting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update

from bot.domain import FamilyRequest, NeedCategory, RequestDetails, RequestStatus, Role, Urgency
from bot.services import facilities as facility_service
from bot.services import inputs
from bot.services import prisoners as prisoner_service
from bot.services import requests as service
from bot.services.buttons import Choice
from bot.services.errors import NotAllowed, NotFound
from handlers import flows, screens
from handlers.cleanup import delete_later, delete_tracked
from handlers.context import BotContext
from handlers.notify import send_to_member, tell_coordinators
from handlers.screens import CATEGORY_LABELS, bad_input, day_text, deny, kg_text, pick_rows, show, today
from handlers.ui import answer_button, delete_typed, reply

FLOW = "request"
REVIEW = "review"
SUMMARY_KIND = "request_summary"
REVIEW_KIND = "request_review"
NOTICE = "There is an update on your request. Open /status."
STATUS_TEXT = {
    RequestStatus.WAITING: "waiting for a coordinator",
    RequestStatus.ACCEPTED: "accepted: help is being arranged",
    RequestStatus.DECLINED: "declined",
    RequestStatus.WITHDRAWN: "withdrawn",
}
DECLINE_LABELS = {
    "not_listed": "Not in our list of facilities",
    "cannot_verify": "Cannot verify",
    "duplicate": "Duplicate",
    "other": "Other reason",
}


def _is_family(context: BotContext) -> bool:
    return context.me.role is Role.FAMILY


# The family's conversation ----------------------------------------------------------------------------


async def request(update: Update, context: BotContext) -> None:
    """Start: who needs support."""
    if not _is_family(context):
        await deny(update, context)
        return
    await flows.goto(context, FLOW, "name", {})
    t = context.t
    await reply(update, t("Who needs support? Send their full name as in the passport. Your message will be "
                          "removed from this chat once saved. Send /cancel to stop."))


def _typed_step(key: str, parse, then):
    """A typed answer: store it sealed in the flow, delete the message, then ask the next question."""

    async def handle(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
        try:
            data[key] = parse(text, context)
        except inputs.InputError as error:
            await delete_typed(update, context.bot)
            await bad_input(update, context, error)
            return
        await then(update, context, data)
        await delete_typed(update, context.bot)

    return handle


async def _ask_year(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.goto(context, FLOW, "year", data)
    await reply(update, context.t("Their year of birth? E.g. 1985."))


async def _ask_facility(update: Update, context: BotContext, data: dict[str, Any], *, page: int = 0,
                        edit: bool = False) -> None:
    await flows.goto(context, FLOW, "facility", data)
    t = context.t
    items = await facility_service.list_facilities(context.store)
    rows = pick_rows(t, items, page, lambda f: Choice(f.name[:60], "request.facility", {"id": f.id}),
                     "request.facilities")
    rows.append([Choice(t("Other / not on the list"), "request.facility", {"id": None})])
    await show(update, context, t("Where are they held?"), rows, edit=edit)


async def facilities_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Leafing through the places to pick from (the step stays the same)."""
    data = await _state(update, context, "facility")
    if data is not None:
        await _ask_facility(update, context, data, page=payload.get("page", 0), edit=True)


async def _ask_categories(update: Update, context: BotContext, data: dict[str, Any], *, edit: bool = False) -> None:
    data.setdefault("categories", [])
    await flows.goto(context, FLOW, "categories", data)
    t = context.t
    rows = [[Choice(("✓ " if key in data["categories"] else "") + t(label), "request.category", {"key": key})]
            for key, label in CATEGORY_LABELS.items()]
    rows.append([Choice(t("Next"), "request.next", {})])
    await show(update, context, t("What is needed? Tap all that apply, then Next."), rows, edit=edit)


async def _ask_text(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.goto(context, FLOW, "text", data)
    await show(update, context, context.t("Anything we should know (sizes, medicines, what is most needed)? Send it, "
                                          "or - for nothing."))


async def _ask_urgency(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    await flows.goto(context, FLOW, "urgency", data)
    t = context.t
    rows = [[Choice(t("It can wait a little"), "request.urgency", {"urgency": "normal"}),
             Choice(t("Urgent"), "request.urgency", {"urgency": "urgent"})]]
    await show(update, context, t("How urgent is it?"), rows)


async def _summary(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    """Repeat the details once to confirm; protected, silent, and tracked so it is deleted later."""
    t = context.t
    await flows.goto(context, FLOW, "confirm", data)
    facility = t("other: {place}", place=data["facility_other"]) if data.get("facility_id") is None else next(
        (f.name for f in await facility_service.list_facilities(context.store) if f.id == data["facility_id"]), "—")
    lines = [
        t("Please check your request:"),
        t("Name: {name}, born {year}", name=data["full_name"], year=data["birth_year"]),
        t("Place: {place}", place=facility),
        t("Needed: {categories}", categories=", ".join(t(CATEGORY_LABELS[c]) for c in data["categories"])),
        t("Details: {text}", text=data.get("text") or "—"),
        t("Urgent") if data["urgency"] == "urgent" else t("Not urgent"),
    ]
    rows = [[Choice(t("Send the request"), "request.confirm", {}), Choice(t("Cancel"), "request.cancel", {})]]
    message = await show(update, context, "\n".join(lines), rows, silent=True)
    if message is not None:
        async with context.store.write() as uow:
            await uow.messages.track(member_id=context.me.id, kind=SUMMARY_KIND, chat_id=message.chat_id,
                                     message_id=message.message_id, delete_after=uow.clock.now() + timedelta(hours=1))


async def _state(update: Update, context: BotContext, step: str) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != FLOW or state[1] != step or not _is_family(context):
        await deny(update, context)
        return None
    return state[2]


async def on_facility(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "facility")
    if data is None:
        return
    data["facility_id"] = payload.get("id")
    if data["facility_id"] is None:
        await flows.goto(context, FLOW, "other", data)
        await show(update, context, context.t("Send the name of the place, e.g. the town and the colony number."))
        return
    await _ask_categories(update, context, data)


async def on_category(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "categories")
    if data is None or payload.get("key") not in CATEGORY_LABELS:
        return
    data["categories"] = sorted(set(data["categories"]) ^ {payload["key"]})
    await _ask_categories(update, context, data, edit=True)


async def on_next(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "categories")
    if data is None:
        return
    if not data["categories"]:
        await answer_button(update, context.t("Please choose at least one kind of help."))
        return
    await _ask_text(update, context, data)


async def on_urgency(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "urgency")
    if data is None or payload.get("urgency") not in ("normal", "urgent"):
        return
    data["urgency"] = payload["urgency"]
    await _summary(update, context, data)


async def _drop_summaries(context: BotContext) -> None:
    async with context.store.read() as uow:
        tracked = [m for m in await uow.messages.for_member(context.me.id) if m.kind == SUMMARY_KIND]
    await delete_tracked(context.bot, context.store, tracked)


async def on_confirm(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context, "confirm")
    if data is None:
        return
    t = context.t
    details = RequestDetails(full_name=data["full_name"], birth_year=data["birth_year"],
                             facility_id=data.get("facility_id"), facility_other=data.get("facility_other", ""),
                             categories=tuple(data["categories"]), text=data.get("text", ""),
                             urgency=Urgency(data["urgency"]))
    try:
        await service.submit(context.store, context.me, details, today(context))
    except NotAllowed:
        await flows.finish(context)
        await reply(update, t("You have several requests waiting already. Please wait for an answer in /status."))
        return
    except (NotFound, inputs.InputError):
        await flows.finish(context)
        await reply(update, t("Something in the request is no longer valid. Please send /request again."))
        return
    await flows.finish(context)
    await _drop_summaries(context)
    await reply(update, t("Thank you. Your request is saved and a coordinator will look at it. You will see how it "
                          "goes in /status."))
    await tell_coordinators(context, "A new request is waiting. Open /requests.")


async def on_cancel(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_family(context):
        await deny(update, context)
        return
    await flows.finish(context)
    await _drop_summaries(context)
    await reply(update, context.t("Stopped. Nothing was saved. Send /help to see what you can do."))


async def use_buttons(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    """Typed text where a button is expected: it may still carry details, so it goes too."""
    await delete_typed(update, context.bot)
    await screens.use_buttons(update, context, data, text)


# /status and withdraw ------------------------------------------------------------------------------------


def _status_line(t, number: int, request: FamilyRequest) -> str:
    line = f"{number}. " + t("Request of {day}: {status}", day=day_text(request.created_at.date()),
                             status=t(STATUS_TEXT[request.status]))
    if request.status is RequestStatus.DECLINED and request.decline_reason in DECLINE_LABELS:
        line += f" ({t(DECLINE_LABELS[request.decline_reason]).lower()})"
    return line


async def status(update: Update, context: BotContext) -> None:
    """The family's own requests, status only: never who delivers or when."""
    if not _is_family(context):
        await deny(update, context)
        return
    t = context.t
    mine = await service.my_requests(context.store, context.me)
    if not mine:
        await reply(update, t("You have no requests. Send /request to ask for support."))
        return
    rows = [[Choice(t("Withdraw request {number} ({day})", number=number, day=day_text(r.created_at.date())),
                    "request.withdraw", {"id": r.id})]
            for number, r in enumerate(mine, 1) if r.status is RequestStatus.WAITING]
    lines = [_status_line(t, number, r) for number, r in enumerate(mine, 1)]
    if any(r.status is RequestStatus.DECLINED for r in mine):
        lines.append(t("You can send /request again at any time."))
    await show(update, context, "\n".join(lines), rows)


async def withdraw(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_family(context):
        await deny(update, context)
        return
    try:
        await service.withdraw(context.store, context.me, payload["id"])
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This request is already closed."))
        return
    await reply(update, context.t("Your request is withdrawn. Send /request if you need support again."))


# Coordinators' review --------------------------------------------------------------------------------------


def _review_text(t, review: service.Review) -> str:
    d = review.request.details
    lines = [
        t("Request of {day}", day=day_text(review.request.created_at.date())) + (" · ❗" if d.urgency is Urgency.URGENT
                                                                                 else ""),
        t("Name: {name}, born {year}", name=d.full_name, year=d.birth_year),
        t("Place: {place}", place=review.facility_name or "—"),
        t("Needed: {categories}", categories=", ".join(t(CATEGORY_LABELS[c]) for c in d.categories)),
        t("Details: {text}", text=d.text or "—"),
    ]
    if review.prisoner_alias:
        lines.append(t("Linked to {alias}", alias=review.prisoner_alias))
    return "\n".join(lines)


def _review_rows(t, review: service.Review) -> list[list[Choice]]:
    target = {"request": review.request.id}
    rows = [[Choice(t("Link to a prisoner"), "review.link", target),
             Choice(t("Create a prisoner"), "review.create", target)]]
    if review.prisoner_alias:
        rows.append([Choice(t("Turn into needs"), "review.needs", target)])
    rows.append([Choice(t("Decline"), "review.decline", target)])
    return rows


async def _coordinator(update: Update, context: BotContext) -> bool:
    if context.me.is_coordinator:
        return True
    await deny(update, context)
    return False


async def _show_review(update: Update, context: BotContext, review: service.Review) -> None:
    t = context.t
    await service.shown(context.store, context.me, review.request)
    message = await show(update, context, _review_text(t, review), _review_rows(t, review), silent=True)
    await delete_later(context.store, context.me.id, message, REVIEW_KIND, hours=24)  # it carries a full name


async def requests(update: Update, context: BotContext) -> None:
    if not await _coordinator(update, context):
        return
    reviews = await service.waiting(context.store, context.me)
    if not reviews:
        await reply(update, context.t("No requests are waiting."))
        return
    await reply(update, context.t("Requests waiting: {count}", count=len(reviews)))
    for review in reviews:
        await _show_review(update, context, review)


async def _review(update: Update, context: BotContext, request_id: int) -> service.Review | None:
    try:
        return await service.review(context.store, context.me, request_id)
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This request is already closed."))
        return None


async def review_link(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not await _coordinator(update, context) or await _review(update, context, payload["request"]) is None:
        return
    await flows.goto(context, REVIEW, "link", {"request": payload["request"]})
    await show(update, context, context.t("Send an alias or a part of the name to search. Send /cancel to stop."))


async def review_link_search(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    await delete_typed(update, context.bot)  # part of a real name: not left in the coordinator's chat
    try:
        found = await prisoner_service.search(context.store, context.me, text, by_name=True)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    t = context.t
    if not found:
        await reply(update, t("Nobody found. Send another part of the name, or /cancel."))
        return
    await flows.finish(context)
    rows = [[Choice(p.alias, "review.link.pick", {"request": data["request"], "prisoner": p.id})] for p in found]
    await show(update, context, t("Which one?"), rows)


async def review_link_pick(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not await _coordinator(update, context):
        return
    try:
        await service.link(context.store, context.me, payload["request"], payload["prisoner"])
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This request is already closed."))
        return
    review = await _review(update, context, payload["request"])
    if review is not None:
        await _show_review(update, context, review)


async def review_create(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not await _coordinator(update, context):
        return
    review = await _review(update, context, payload["request"])
    if review is None:
        return
    facility_id = payload.get("facility", review.request.details.facility_id)
    if facility_id is None and not payload.get("unknown"):
        await _pick_facility_for(update, context, payload["request"])
        return
    try:
        prisoner = await service.create_prisoner(context.store, context.me, payload["request"], facility_id)
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This request is already closed."))
        return
    await reply(update, context.t("Added as {alias}.", alias=prisoner.alias))
    review = await _review(update, context, payload["request"])
    if review is not None:
        await _show_review(update, context, review)


async def _pick_facility_for(update: Update, context: BotContext, request_id: int, page: int = 0, *,
                             edit: bool = False) -> None:
    """The family wrote a place not on the list: which facility is it? (Leafed by `review.facilities`,
    which only shows: a page turn never creates anything.)"""
    t = context.t
    items = await facility_service.list_facilities(context.store)
    rows = pick_rows(t, items, page,
                     lambda f: Choice(f.name[:60], "review.create", {"request": request_id, "facility": f.id}),
                     "review.facilities", request=request_id)
    rows.append([Choice(t("Not known yet"), "review.create", {"request": request_id, "unknown": True})])
    await show(update, context, t("The family wrote another place. Which facility is it?"), rows, edit=edit)


async def review_facilities(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if await _coordinator(update, context) and await _review(update, context, payload["request"]) is not None:
        await _pick_facility_for(update, context, payload["request"], payload.get("page", 0), edit=True)


async def review_needs(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Choose the categories (the family's by default) and the weight per need (1 kg by default)."""
    if not await _coordinator(update, context):
        return
    review = await _review(update, context, payload["request"])
    if review is None:
        return
    data = {"request": payload["request"], "categories": list(review.request.details.categories),
            "weight_g": service.DEFAULT_WEIGHT_G}
    await flows.goto(context, REVIEW, "needs", data)
    await _needs_screen(update, context, data)


async def _needs_screen(update: Update, context: BotContext, data: dict[str, Any], *, edit: bool = False) -> None:
    t = context.t
    rows = [[Choice(("✓ " if key in data["categories"] else "") + t(label), "review.needs.toggle", {"key": key})]
            for key, label in CATEGORY_LABELS.items()]
    if any(NeedCategory(key).weighed for key in data["categories"]):  # money alone weighs nothing
        rows.append([Choice(t("Weight per need: {kg} kg", kg=kg_text(t, data["weight_g"])), "review.needs.weight", {})])
    rows.append([Choice(t("Create the needs"), "review.needs.create", {})])
    await show(update, context, t("Which needs? One need per kind."), rows, edit=edit)


async def _needs_state(update: Update, context: BotContext) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != REVIEW or state[1] not in ("needs", "weight") or not context.me.is_coordinator:
        await deny(update, context)
        return None
    return state[2]


async def review_needs_toggle(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _needs_state(update, context)
    if data is None or payload.get("key") not in CATEGORY_LABELS:
        return
    data["categories"] = sorted(set(data["categories"]) ^ {payload["key"]})
    await flows.goto(context, REVIEW, "needs", data)
    await _needs_screen(update, context, data, edit=True)


async def review_needs_weight(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _needs_state(update, context)
    if data is None:
        return
    await flows.goto(context, REVIEW, "weight", data)
    await show(update, context, context.t("Send the weight per need in kg, e.g. 2.5."))


async def review_weight_text(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    try:
        data["weight_g"] = inputs.weight_g(text)
    except inputs.InputError as error:
        await bad_input(update, context, error)
        return
    await flows.goto(context, REVIEW, "needs", data)
    await _needs_screen(update, context, data)


async def review_needs_create(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _needs_state(update, context)
    if data is None:
        return
    t = context.t
    try:
        change = await service.accept_as_needs(context.store, context.me, data["request"], tuple(data["categories"]),
                                               data["weight_g"], today(context))
    except inputs.InputError as error:
        await answer_button(update, t(error.message, **error.values))
        return
    except NotFound:
        await answer_button(update, t("Link or create the prisoner first."))
        return
    except NotAllowed:
        await flows.finish(context)
        await answer_button(update, t("This request is already closed."))
        return
    await flows.finish(context)
    await reply(update, t("Accepted. Needs created: {count}. The family is told there is an update.",
                          count=len(change.needs)))
    await _notify_family(context, change)


async def review_decline(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not await _coordinator(update, context):
        return
    t = context.t
    if payload.get("reason") not in DECLINE_LABELS:
        rows = [[Choice(t(label), "review.decline", {"request": payload["request"], "reason": key})]
                for key, label in DECLINE_LABELS.items()]
        await show(update, context, t("Why is it declined? The family sees this reason."), rows)
        return
    try:
        change = await service.decline(context.store, context.me, payload["request"], payload["reason"])
    except (NotFound, NotAllowed):
        await answer_button(update, t("This request is already closed."))
        return
    await reply(update, t("Declined. The family is told there is an update."))
    await _notify_family(context, change)


async def _notify_family(context: BotContext, change: service.Change) -> None:
    """Neutral words only: whoever holds the family's phone learns nothing from the lock screen."""
    if change.member_id is None:
        return
    async with context.store.read() as uow:
        member = await uow.members.get(change.member_id)
    if member is not None and member.usable and member.chat_id:
        await send_to_member(context, member, NOTICE)


COMMANDS = {"request": request, "status": status, "requests": requests}
ACTIONS = {
    "request.facility": on_facility,
    "request.facilities": facilities_page,
    "request.category": on_category,
    "request.next": on_next,
    "request.urgency": on_urgency,
    "request.confirm": on_confirm,
    "request.cancel": on_cancel,
    "request.withdraw": withdraw,
    "review.link": review_link,
    "review.link.pick": review_link_pick,
    "review.create": review_create,
    "review.facilities": review_facilities,
    "review.needs": review_needs,
    "review.needs.toggle": review_needs_toggle,
    "review.needs.weight": review_needs_weight,
    "review.needs.create": review_needs_create,
    "review.decline": review_decline,
}
FLOWS = {
    FLOW: {
        "name": _typed_step("full_name", lambda text, context: inputs.full_name(text), _ask_year),
        "year": _typed_step("birth_year", lambda text, context: inputs.birth_year(text, today(context)),
                            _ask_facility),
        "other": _typed_step("facility_other", lambda text, context: inputs.text_field(
            text, low=2, high=200, message="Please send {low} to {high} characters."), _ask_categories),
        "text": _typed_step("text", lambda text, context: inputs.optional_text(text, inputs.MAX_DETAILS),
                            _ask_urgency),
        "facility": use_buttons, "categories": use_buttons, "urgency": use_buttons, "confirm": use_buttons,
    },
    REVIEW: {"link": review_link_search, "weight": review_weight_text, "needs": use_buttons},
}
FLOW_ROLES = {FLOW: (Role.FAMILY,), REVIEW: (Role.COORDINATOR,)}
