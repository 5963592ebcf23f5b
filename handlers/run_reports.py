"""After the task, by buttons: confirm, report each parcel (by alias), say "I'm safe".

The report is the safety check-in. Parcel buttons show the prisoner's alias, never a name. A refusal
asks for its reason by button and then an optional short note (the only typing here).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.domain import MemberStatus, ParcelOutcome, RefusalReason, Role
from bot.services import outcomes
from bot.services.buttons import Choice
from bot.services.errors import DomainError
from bot.services.outcomes import AlreadyReported, Recorded
from handlers import flows
from handlers.context import BotContext
from handlers.notify import send_to_member
from handlers.run_details import delete_run_details
from handlers.screens import day_text, deny, show, today
from handlers.ui import answer_button, reply

log = logging.getLogger(__name__)

OUTCOME_LABELS = (
    (ParcelOutcome.DELIVERED, "Delivered"), (ParcelOutcome.PARTLY, "Partly"),
    (ParcelOutcome.REFUSED, "Refused"), (ParcelOutcome.NOT_GONE, "Could not go"),
)
REASON_LABELS = {
    RefusalReason.ALLOWANCE_USED: "Allowance used up", RefusalReason.TRANSFERRED: "Transferred",
    RefusalReason.RELEASED: "Released", RefusalReason.ITEM_NOT_ALLOWED: "Item not allowed",
    RefusalReason.OTHER: "Other reason",
}


def _volunteer(context: BotContext) -> bool:
    return context.me.role is Role.VOLUNTEER and context.me.status is MemberStatus.ACTIVE


async def _refuse(update: Update, context: BotContext, error: DomainError) -> None:
    text = "This parcel is already reported." if isinstance(error, AlreadyReported) else \
        "This is no longer available."
    await answer_button(update, context.t(text))
    await update.effective_chat.send_message(context.t(text))


async def confirm(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """The volunteer confirms they are going."""
    if not _volunteer(context):
        await deny(update, context)
        return
    try:
        code = await outcomes.confirm(context.store, context.me.id, payload["assignment"])
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await show(update, context, context.t("Thank you: {code} is confirmed.", code=code))


async def safe(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """"I'm safe": the check-in without a report."""
    if not _volunteer(context):
        await deny(update, context)
        return
    try:
        await outcomes.check_in(context.store, context.me.id, payload["assignment"])
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await show(update, context, context.t("Thank you, we are glad you are safe. Please report the parcels when you "
                                          "can: /myruns."))


async def report(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """The parcels of the task still to report, one button each (alias only)."""
    if not _volunteer(context):
        await deny(update, context)
        return
    try:
        view = await outcomes.report_view(context.store, context.me.id, payload["assignment"])
    except DomainError as error:
        await _refuse(update, context, error)
        return
    t = context.t
    rows = [[Choice(line.alias, "runs.parcel", {"assignment": view.assignment_id, "parcel": line.parcel_id})]
            for line in view.parcels if line.outcome is None]
    await show(update, context, t("Report for {code}: tap each parcel.", code=view.code), rows)


async def parcel(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """How it went for one parcel."""
    if not _volunteer(context):
        await deny(update, context)
        return
    t = context.t
    rows = [[Choice(t(label), "runs.outcome", {**payload, "outcome": outcome.value})]
            for outcome, label in OUTCOME_LABELS]
    await show(update, context, t("How did it go with this parcel?"), rows)


async def outcome(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Delivered, partly or could not go are recorded at once; a refusal asks why."""
    if not _volunteer(context):
        await deny(update, context)
        return
    chosen = ParcelOutcome(payload["outcome"])
    if chosen is ParcelOutcome.REFUSED:
        t = context.t
        rows = [[Choice(t(label), "runs.reason", {**payload, "reason": reason.value})]
                for reason, label in REASON_LABELS.items()]
        await show(update, context, t("Why was it refused?"), rows)
        return
    await _record(update, context, payload["assignment"], payload["parcel"], chosen)


async def reason(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """A refusal's reason chosen: ask for an optional short note."""
    if not _volunteer(context):
        await deny(update, context)
        return
    data = {"assignment": payload["assignment"], "parcel": payload["parcel"], "reason": payload["reason"]}
    await flows.goto(context, "report", "note", data)
    await show(update, context, context.t("Add a short note about the refusal (up to {limit} characters), or press "
                                          "Skip.", limit=outcomes.MAX_NOTE),
               [[Choice(context.t("Skip"), "runs.skipnote", data)]])


async def skip_note(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not _volunteer(context):
        await deny(update, context)
        return
    await flows.finish(context)
    await _record(update, context, payload["assignment"], payload["parcel"], ParcelOutcome.REFUSED,
                  reason=payload["reason"])


async def note_step(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    """The typed note; too long stays on this step."""
    if len(text) > outcomes.MAX_NOTE:
        await reply(update, context.t("Please keep the note under {limit} characters, or press Skip.",
                                      limit=outcomes.MAX_NOTE))
        return
    await flows.finish(context)
    # The note may name people or places: the chat copy goes, the sealed copy stays.
    try:
        await update.message.delete()
    except Exception:  # noqa: BLE001, S110 - best effort; the note is already stored sealed either way
        pass
    await _record(update, context, data["assignment"], data["parcel"], ParcelOutcome.REFUSED,
                  reason=data["reason"], note=text)


async def _record(update: Update, context: BotContext, assignment_id: int, parcel_id: int, chosen: ParcelOutcome,
                  *, reason: str = "", note: str = "") -> None:
    t = context.t
    try:
        result = await outcomes.record(context.store, context.me.id, assignment_id, parcel_id, chosen,
                                       today=today(context), reason=reason, note=note)
    except DomainError as error:
        await _refuse(update, context, error)
        return
    log.info("parcel reported: member=%s run=%s outcome=%s", context.me.id, result.run_id, chosen.value)
    await _tell_families(context, result)
    if result.run_closed:
        await delete_run_details(context, result.run_id)
        await show(update, context, t("Thank you. Everything on {code} is reported, and you are checked in. Take "
                                      "care.", code=result.code))
        return
    await report(update, context, {"assignment": assignment_id})


async def _tell_families(context: BotContext, result: Recorded) -> None:
    """Neutral, and nothing about who went."""
    if result.handed_in_on is None:
        return
    for family in result.families:
        await send_to_member(context, family, "Update: a parcel was handed in on {date}.",
                             date=day_text(result.handed_in_on))


COMMANDS: dict = {}
ACTIONS = {
    "runs.confirm": confirm, "runs.safe": safe, "runs.report": report, "runs.parcel": parcel,
    "runs.outcome": outcome, "runs.reason": reason, "runs.skipnote": skip_note,
}
FLOWS = {"report": {"note": note_step}}
