"""/facilities (coordinators): list, view with the refusal log, add and edit as a guided flow.

The add flow walks every step in order; editing shows the summary, and each "Change" button runs
one step and comes back to the summary. Nothing is stored until Save.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update

from bot.domain import Facility, FacilityKind, FacilityRules, HandoverWindow, Role
from bot.i18n import format_kg, weekday_from_name
from bot.services import facilities as service
from bot.services import inputs
from bot.services.buttons import Choice
from bot.services.errors import NotAllowed, NotFound
from handlers import flows
from handlers.context import BotContext
from handlers.screens import (
    CATEGORY_LABELS,
    KIND_LABELS,
    PICK_PAGE,
    WEEKDAYS,
    bad_input,
    day_text,
    deny,
    page_of,
    page_turns,
    show,
    today,
    use_buttons,
)
from handlers.ui import answer_button, reply

FLOW = "facility"
ORDER = ("kind", "area", "name", "address", "places", "days", "hours", "kg", "parcels", "refused", "goods", "flags",
         "notes")
STEP_LABELS = {
    "kind": "kind", "area": "area", "name": "name", "address": "address", "places": "places", "days": "days",
    "hours": "hours", "kg": "kg per month", "parcels": "parcels per year", "refused": "refused",
    "goods": "goods parcel", "flags": "relatives, passport", "notes": "notes",
}
FLAG_LABELS = {"relatives": "Relatives only", "passport": "Passport recorded", "verify": "Verify locally"}


def _is_coordinator(context: BotContext) -> bool:
    return context.me.is_coordinator


# Drafts in the flow state (plain JSON) and back ----------------------------------------------------------


def _data_from(facility: Facility | None) -> dict[str, Any]:
    rules = facility.rules if facility else FacilityRules()
    windows = rules.windows
    return {
        "id": facility.id if facility else None,
        "kind": facility.kind.value if facility else None,
        "area_id": facility.area_id if facility else None, "area_name": "",
        "name": facility.name if facility else "", "address": facility.address if facility else "",
        "places": facility.places if facility else 1,
        "days": sorted({w.weekday for w in windows}),
        # Each day's own hours, kept unless the hours step is answered (see _rules); the first
        # window's hours are what a day ticked anew gets.
        "windows": [[w.weekday, w.start, w.end] for w in windows],
        "hours": f"{windows[0].start}-{windows[0].end}" if windows else "",
        "kg": rules.kg_per_month, "per_year": rules.parcels_per_year,
        "by_regime": dict(rules.parcels_per_year_by_regime),
        "refused": list(rules.refused_categories), "goods": list(rules.goods_parcel_only_categories),
        "relatives": rules.relatives_only, "passport": rules.passport_recorded, "verify": rules.verify_locally,
        "notes": rules.notes, "confirmed": rules.confirmed_on.isoformat() if rules.confirmed_on else None,
        "review": facility is not None,
    }


def _rules(data: dict[str, Any]) -> FacilityRules:
    """The draft's rules. A chosen day keeps the hours it had (a facility may open at different
    hours on different days, e.g. from an import), unless hours were typed in this flow, which
    apply to every chosen day; a day ticked anew gets the typed (or first) hours."""
    kept: dict[int, list[tuple[str, str]]] = {}
    for day, start, end in data.get("windows", []):
        kept.setdefault(day, []).append((start, end))
    typed = [tuple(data["hours"].split("-"))] if data["hours"] else []
    windows = tuple(HandoverWindow(day, start, end)
                    for day in sorted(data["days"]) for start, end in kept.get(day) or typed)
    return FacilityRules(
        windows=windows, kg_per_month=data["kg"], parcels_per_year=data["per_year"],
        parcels_per_year_by_regime=dict(data["by_regime"]), refused_categories=tuple(data["refused"]),
        goods_parcel_only_categories=tuple(data["goods"]), relatives_only=data["relatives"],
        passport_recorded=data["passport"], notes=data["notes"], verify_locally=data["verify"],
        confirmed_on=date.fromisoformat(data["confirmed"]) if data.get("confirmed") else None,
    )


def rules_lines(t, rules: FacilityRules) -> list[str]:
    """The rules as a coordinator reads them; also used in the summary before saving."""
    by_day: dict[str, list[str]] = {}
    for window in rules.windows:
        by_day.setdefault(f"{window.start}-{window.end}", []).append(t(WEEKDAYS[window.weekday]))
    hours = "; ".join(f"{', '.join(days)} {span}" for span, days in by_day.items()) or t("unknown")
    per_year = str(rules.parcels_per_year) if rules.parcels_per_year is not None else t("unknown")
    per_month = format_kg(rules.kg_per_month, t.language) if rules.kg_per_month is not None else t("unknown")
    if rules.parcels_per_year_by_regime:
        per_year += " (" + ", ".join(f"{k} {v}" for k, v in sorted(rules.parcels_per_year_by_regime.items())) + ")"
    flags = [t(FLAG_LABELS[key]) for key, on in (("relatives", rules.relatives_only),
                                                  ("passport", rules.passport_recorded),
                                                  ("verify", rules.verify_locally)) if on]
    return [
        t("Handover: {hours}", hours=hours),
        t("Per month: {kg} kg", kg=per_month),
        t("Parcels per year: {count}", count=per_year),
        t("Refused: {categories}", categories=", ".join(t(CATEGORY_LABELS[c]) for c in rules.refused_categories)
          or "—"),
        t("Only in the goods parcel: {categories}",
          categories=", ".join(t(CATEGORY_LABELS[c]) for c in rules.goods_parcel_only_categories) or "—"),
        t("Rules: {flags}", flags=", ".join(flags) or "—"),
        t("Notes: {notes}", notes=rules.notes or "—"),
        t("Rules confirmed on {day}", day=day_text(rules.confirmed_on)),
    ]


# List and view -----------------------------------------------------------------------------------------


async def facilities(update: Update, context: BotContext) -> None:
    """One line per facility, a button to open each and one to add; a page at a time."""
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _facility_list(update, context)


async def facilities_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _facility_list(update, context, payload.get("page", 0), edit=True)


async def _facility_list(update: Update, context: BotContext, page: int = 0, *, edit: bool = False) -> None:
    t = context.t
    items = await service.list_facilities(context.store, today(context))
    areas = {area.id: area.name for area in await service.list_areas(context.store)}
    shown, page, pages = page_of(items, page, PICK_PAGE)  # a line and a button for each on the page
    lines = [t("Facilities ({count}):", count=len(items))] if items else [t("There are no facilities yet.")]
    lines += [f"{t(KIND_LABELS[f.kind.value])} · {f.name} · {areas.get(f.area_id, '—')} · "
              + t("confirmed {day}", day=day_text(f.rules.confirmed_on)) for f in shown]
    rows = [[Choice(f.name[:60], "facility.open", {"id": f.id}, single_use=False)] for f in shown]
    turns = page_turns(t, "facility.list", page, pages)
    if turns:
        rows.append(turns)
    rows.append([Choice(t("Add a facility"), "facility.add", {})])
    await show(update, context, "\n".join(lines), rows, edit=edit)


async def facility_open(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    try:
        view = await service.facility_view(context.store, context.me, payload["id"], today(context))
    except (NotFound, NotAllowed):
        await answer_button(update, t("This facility is no longer here."))
        return
    f = view.facility
    lines = [f"{t(KIND_LABELS[f.kind.value])} · {f.name}", t("Area: {area}", area=view.area.name if view.area else "—"),
             t("Address: {address}", address=f.address), t("Volunteers per run: {places}", places=f.places)]
    lines += rules_lines(t, f.rules)
    rows = [[Choice(t("Edit"), "facility.edit", {"id": f.id})]]
    if view.refusals:
        lines.append(t("Refusals reported:"))
        for refusal in view.refusals:
            mark = " ✓" if refusal.turned_into_rule else ""
            lines.append(f"{day_text(refusal.reported_on)} · {refusal.reason} · {refusal.note or '—'}{mark}")
            if not refusal.turned_into_rule:
                rows.append([Choice(t("Turn into a rule ({day})", day=day_text(refusal.reported_on)),
                                    "facility.rule", {"refusal": refusal.id})])
    await show(update, context, "\n".join(lines), rows)


async def facility_rule(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Which category the counter refuses, by button."""
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    rows = [[Choice(t(label), "facility.rule.set", {"refusal": payload["refusal"], "category": key})]
            for key, label in CATEGORY_LABELS.items()]
    await show(update, context, t("Which kind of item does this facility refuse?"), rows)


async def facility_rule_set(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    t = context.t
    try:
        facility = await service.refusal_to_rule(context.store, context.me, payload["refusal"], payload["category"],
                                                 today(context))
    except (NotFound, NotAllowed, inputs.InputError):
        await answer_button(update, t("This facility is no longer here."))
        return
    await reply(update, t("Saved. {name} now refuses: {categories}.", name=facility.name,
                          categories=", ".join(t(CATEGORY_LABELS[c]) for c in facility.rules.refused_categories)))


# The add/edit flow ---------------------------------------------------------------------------------------


async def facility_add(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    await _ask(update, context, _data_from(None), "kind")


async def facility_edit(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _is_coordinator(context):
        await deny(update, context)
        return
    try:
        view = await service.facility_view(context.store, context.me, payload["id"], today(context))
    except (NotFound, NotAllowed):
        await answer_button(update, context.t("This facility is no longer here."))
        return
    data = _data_from(view.facility)
    await flows.goto(context, FLOW, "summary", data)
    await _summary(update, context, data)


async def _state(update: Update, context: BotContext) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != FLOW or not _is_coordinator(context):
        await deny(update, context)
        return None
    return state[2]


async def _next(update: Update, context: BotContext, data: dict[str, Any], step: str) -> None:
    """After a step: back to the summary when reviewing, else on to the following step."""
    if data.get("review") or step == ORDER[-1]:
        data["review"] = True
        await flows.goto(context, FLOW, "summary", data)
        await _summary(update, context, data)
    else:
        await _ask(update, context, data, ORDER[ORDER.index(step) + 1])


def _toggle_rows(t, chosen: list, options: dict, action: str, done: str) -> list[list[Choice]]:
    rows = [[Choice(("✓ " if key in chosen else "") + t(label), action, {"key": key})]
            for key, label in options.items()]
    rows.append([Choice(t(done), "facility.next", {})])
    return rows


async def _ask(update: Update, context: BotContext, data: dict[str, Any], step: str, *, edit: bool = False) -> None:
    """Show one step's question and remember that the flow waits there."""
    t = context.t
    await flows.goto(context, FLOW, step, data)
    stop = " " + t("Send /cancel to stop.")
    if step == "kind":
        rows = [[Choice(t(label), "facility.kind", {"kind": key})] for key, label in KIND_LABELS.items()]
        await show(update, context, t("What kind of place is it?") + stop, rows)
    elif step == "area":
        areas = await service.list_areas(context.store)
        rows = [[Choice(area.name, "facility.area", {"area": area.id})] for area in areas[:30]]
        await show(update, context, t("Which area? Tap one, or send the name of a new area.") + stop, rows)
    elif step == "name":
        await show(update, context, t("Send the facility's name, e.g. SIZO-1 Minsk.") + stop)
    elif step == "address":
        await show(update, context, t("Send the address.") + stop)
    elif step == "places":
        rows = [[Choice("1", "facility.places", {"places": 1}), Choice("2", "facility.places", {"places": 2})]]
        await show(update, context, t("How many volunteers go on one run there?") + stop, rows)
    elif step == "days":
        rows = [[Choice(("✓ " if day in data["days"] else "") + t(WEEKDAYS[day]), "facility.day", {"day": day})
                 for day in range(start, min(start + 4, 7))] for start in (0, 4)]
        rows.append([Choice(t("Next"), "facility.next", {})])
        await show(update, context, t("On which weekdays are parcels handed in? Tap them, then Next."), rows,
                   edit=edit)
    elif step == "hours":
        await show(update, context, t("Send the handover hours, e.g. 09:00-13:00, or per day: Tue 09:00-13:00, "
                                      "Sat 10:00-17:00.") + stop)
    elif step == "kg":
        await show(update, context, t("How many kg per month may a person receive? Send a number, or - if "
                                      "unknown.") + stop)
    elif step == "parcels":
        await show(update, context, t("How many parcels per year? Send a number, e.g. 6, or per regime: 6, strict "
                                      "4. Send - if unknown.") + stop)
    elif step == "refused":
        await show(update, context, t("What does the counter refuse? Tap to mark, then Next."),
                   _toggle_rows(t, data["refused"], CATEGORY_LABELS, "facility.refused", "Next"), edit=edit)
    elif step == "goods":
        await show(update, context, t("What goes in only with the goods parcel? Tap to mark, then Next."),
                   _toggle_rows(t, data["goods"], CATEGORY_LABELS, "facility.goods", "Next"), edit=edit)
    elif step == "flags":
        chosen = [key for key in FLAG_LABELS if data[key]]
        await show(update, context, t("Which of these apply? Tap to mark, then Next."),
                   _toggle_rows(t, chosen, FLAG_LABELS, "facility.flag", "Next"), edit=edit)
    elif step == "notes":
        await show(update, context, t("Any notes on the rules? Send them, or - for none.") + stop)


async def _summary(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    areas = {area.id: area.name for area in await service.list_areas(context.store)}
    area = data["area_name"] or areas.get(data["area_id"], "—")
    lines = [t("Please check:"), f"{t(KIND_LABELS[data['kind']])} · {data['name']}", t("Area: {area}", area=area),
             t("Address: {address}", address=data["address"]),
             t("Volunteers per run: {places}", places=data["places"])]
    lines += rules_lines(t, _rules(data))[:-1]
    changes = [Choice(t("Change {what}", what=t(STEP_LABELS[step])), "facility.change", {"step": step})
               for step in ORDER]
    rows = [[Choice(t("Save"), "facility.save", {})]] + [changes[i:i + 3] for i in range(0, len(changes), 3)]
    await show(update, context, "\n".join(lines), rows)


async def on_kind(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None or payload.get("kind") not in KIND_LABELS:
        return
    data["kind"] = payload["kind"]
    await _next(update, context, data, "kind")


async def on_area(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None:
        return
    data["area_id"], data["area_name"] = payload["area"], ""
    await _next(update, context, data, "area")


async def on_places(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None or payload.get("places") not in (1, 2):
        return
    data["places"] = payload["places"]
    await _next(update, context, data, "places")


async def on_day(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None:
        return
    day = payload["day"]
    data["days"] = sorted(set(data["days"]) ^ {day})
    await _ask(update, context, data, "days", edit=True)


async def _toggle(update: Update, context: BotContext, key: str, value: str) -> None:
    data = await _state(update, context)
    if data is None:
        return
    if key == "flags":
        data[value] = not data[value]
    else:
        data[key] = sorted(set(data[key]) ^ {value})
    await _ask(update, context, data, key, edit=True)


async def on_refused(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if payload.get("key") in CATEGORY_LABELS:
        await _toggle(update, context, "refused", payload["key"])


async def on_goods(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if payload.get("key") in CATEGORY_LABELS:
        await _toggle(update, context, "goods", payload["key"])


async def on_flag(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if payload.get("key") in FLAG_LABELS:
        await _toggle(update, context, "flags", payload["key"])


async def on_next(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Next on a toggle screen: the step the flow is on decides where it goes."""
    state = await flows.current(context)
    if state is None or state[0] != FLOW or not _is_coordinator(context):
        await deny(update, context)
        return
    await _next(update, context, state[2], state[1])


async def on_change(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None or payload.get("step") not in ORDER:
        return
    await _ask(update, context, data, payload["step"])


async def on_save(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _state(update, context)
    if data is None:
        return
    t = context.t
    draft = service.FacilityDraft(kind=FacilityKind(data["kind"]), name=data["name"], address=data["address"],
                                  rules=_rules(data), area_id=data["area_id"], area_name=data["area_name"],
                                  places=data["places"])
    try:
        facility = await service.save_facility(context.store, context.me, draft, today(context), data["id"])
    except (NotFound, NotAllowed):
        await flows.finish(context)
        await reply(update, t("This facility is no longer here."))
        return
    await flows.finish(context)
    await reply(update, t("Saved: {name}. Send /facilities to see the list.", name=facility.name))


# Text steps ----------------------------------------------------------------------------------------------


def _text_step(step: str, parse):
    """A typed step: parse, store, move on; a bad value keeps the flow on the same step."""

    async def handle(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
        try:
            parse(data, text)
        except inputs.InputError as error:
            await bad_input(update, context, error)
            return
        await _next(update, context, data, step)

    handle.__doc__ = f"The {step} step of adding or editing a facility."
    return handle


def _set_area(data, text):
    data["area_name"], data["area_id"] = service.area_name(text), None


def _set_hours(data, text):
    """One span for every chosen day, or hours per day (a named day is a handover day too)."""
    spans = inputs.hours_by_day(text, weekday_from_name)
    rest = next(((start, end) for day, start, end in spans if day is None), None)
    named = [[day, start, end] for day, start, end in spans if day is not None]
    if not named:
        data["hours"], data["windows"] = "-".join(rest), []  # typed hours replace every day's own
        return
    named_days = {day for day, _, _ in named}
    days = sorted(set(data["days"]) | named_days)
    if rest is None and not named_days.issuperset(days):
        raise inputs.InputError("Please give hours for every chosen day, or one span for the other days, e.g. "
                                "09:00-13:00, Sat 10:00-17:00.")
    if rest is not None and named_days.issuperset(days):  # a span for "the other days", and there are none
        raise inputs.InputError(inputs.HOURS_BY_DAY_HELP)
    data["days"] = days
    data["windows"] = named + [[day, *rest] for day in days if day not in named_days] if rest else named
    data["hours"] = "-".join(rest or named[0][1:])  # what a day ticked later gets


def _set_parcels(data, text):
    data["per_year"], data["by_regime"] = inputs.parcels_per_year(text)



FLOWS = {FLOW: {
    **{step: use_buttons for step in ("kind", "places", "days", "refused", "goods", "flags", "summary")},
    "area": _text_step("area", _set_area),
    "name": _text_step("name", lambda data, text: data.__setitem__("name", service.facility_name(text))),
    "address": _text_step("address", lambda data, text: data.__setitem__("address", service.address(text))),
    "hours": _text_step("hours", _set_hours),
    "kg": _text_step("kg", lambda data, text: data.__setitem__("kg", inputs.kg_per_month(text))),
    "parcels": _text_step("parcels", _set_parcels),
    "notes": _text_step("notes", lambda data, text: data.__setitem__("notes", inputs.optional_text(
        text, inputs.MAX_NOTES))),
}}
COMMANDS = {"facilities": facilities}
ACTIONS = {
    "facility.open": facility_open,
    "facility.list": facilities_page,
    "facility.add": facility_add,
    "facility.edit": facility_edit,
    "facility.rule": facility_rule,
    "facility.rule.set": facility_rule_set,
    "facility.kind": on_kind,
    "facility.area": on_area,
    "facility.places": on_places,
    "facility.day": on_day,
    "facility.refused": on_refused,
    "facility.goods": on_goods,
    "facility.flag": on_flag,
    "facility.next": on_next,
    "facility.change": on_change,
    "facility.save": on_save,
}
FLOW_ROLES = {FLOW: (Role.COORDINATOR,)}
