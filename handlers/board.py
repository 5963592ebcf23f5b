"""/board for coordinators: missed check-ins first, claims to approve, then the runs of this week and the
next three days (an alert 48 h ahead on a Sunday points here), flagged ones first, status first."""

from __future__ import annotations

from telegram import Update

from bot.services import board as board_service
from bot.services.buttons import Choice
from handlers.context import BotContext
from handlers.runs import run_text
from handlers.screens import deny, show

STATE_LABELS = {"open": "open", "claimed": "claimed {taken}/{places}", "confirmed": "confirmed", "done": "done",
                "failed": "failed", "called off": "called off"}
WARNING = "⚠"
BOARD_TEXT_LIMIT = 3800  # Telegram takes 4,096 characters; room for the header and the "more" line


async def board(update: Update, context: BotContext) -> None:
    """One dense screen: what needs action at the top."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t, runtime = context.t, context.runtime
    view = await board_service.board(context.store, context.me, runtime.clock.now(), runtime.config.tz)
    lines: list[str] = []
    rows: list[list[Choice]] = []
    for person in view.missed:
        lines.append(f"{WARNING} " + t("Missed check-in: {pseudonym}, task {code}.", pseudonym=person.pseudonym,
                                       code=person.code))
    for person in view.waiting:
        lines.append(t("Waiting for approval: {pseudonym}, task {code}.", pseudonym=person.pseudonym,
                       code=person.code))
        payload = {"assignment": person.assignment_id}
        rows.append([Choice(t("Approve {code}", code=person.code), "runs.approve", payload),
                     Choice(t("Reject {code}", code=person.code), "runs.reject", payload)])
    if lines:
        lines.append("")
    if not view.runs:
        lines.append(t("No published tasks this week or in the next three days."))
    # Flagged runs first; what does not fit one message is counted, never cut off mid-line.
    ordered = sorted(view.runs, key=lambda item: not item.warning)
    size = sum(len(line) + 1 for line in lines)
    for shown, item in enumerate(ordered):
        state = t(STATE_LABELS[item.state], taken=item.line.taken, places=item.line.places)
        line = f"{WARNING} " if item.warning else ""
        line += f"{state} · {run_text(context, item.line)}"
        if size + len(line) > BOARD_TEXT_LIMIT:
            lines.append(t("… and {count} more.", count=len(ordered) - shown))
            break
        lines.append(line)
        size += len(line) + 1
    # A facility closed on the day, say: published runs that have not started can be called off from here.
    rows.append([Choice(t("Call off a task"), "runs.calloff_list", {"page": 0}, single_use=False)])
    await show(update, context, "\n".join([t("This week and the next three days:"), *lines]), rows)


COMMANDS = {"board": board}
ACTIONS: dict = {}
