"""Runs: /plan and publishing for coordinators; /runs, claiming, /myruns and giving a place back for volunteers.

Lists are coarse (code, area, facility kind, day, window, size, categories). Every action re-checks
the member's role or ownership in the service; a token only proves who saw the button.
/myruns shows per place only the buttons that can work at that moment (`my_run_buttons`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.domain import MemberStatus, Role
from bot.i18n import N_, translator
from bot.services import buttons as button_service
from bot.services import claims
from bot.services import runs as run_service
from bot.services.buttons import Choice
from bot.services.errors import (
    AlreadyClaimed,
    ClaimCapReached,
    DomainError,
    NotAllowed,
    NotFound,
    RunFull,
    RunNotOpen,
)
from bot.services.runs import RunLine
from handlers.context import BotContext
from handlers.limits import within_limit
from handlers.notify import in_lockdown, send_to_member, tell_coordinators
from handlers.run_details import delete_run_details, send_details
from handlers.screens import CATEGORY_LABELS, KIND_LABELS, WEEKDAYS, deny, page_of, page_turns, show
from handlers.ui import answer_button, keyboard, together

log = logging.getLogger(__name__)

ERRORS = {
    RunFull: "Sorry, this task is already full.",
    AlreadyClaimed: "You already have a place on this task.",
    ClaimCapReached: "You already hold as many tasks as allowed. Finish or give one back first.",
    RunNotOpen: "This task is no longer open.",
    NotFound: "This is no longer available.",
    NotAllowed: "This is not available to you.",
}


def _error_text(context: BotContext, error: DomainError) -> str:
    return context.t(ERRORS.get(type(error), "This is no longer available."))


def run_text(context: BotContext, line: RunLine, *, places: bool = True) -> str:
    """One line: code · kind · area · day date · window · parcels (· places left)."""
    t, tz = context.t, context.runtime.config.tz
    start, end = line.window_start.astimezone(tz), line.window_end.astimezone(tz)
    parts = [line.code, t(KIND_LABELS.get(line.facility_kind.value, "Other")), line.area or "—",
             f"{t(WEEKDAYS[start.weekday()])} {start:%d.%m}", f"{start:%H:%M}–{end:%H:%M}",
             t.plural("{count} parcel", "{count} parcels", line.parcels)]
    if line.categories:
        parts.append(", ".join(t(CATEGORY_LABELS.get(category, "Other")) for category in line.categories))
    if places:
        parts.append(t("places left: {left} of {places}", left=line.places_left, places=line.places))
    return " · ".join(parts)


def _week_start(context: BotContext) -> date:
    return run_service.next_week_start(context.runtime.clock.now(), context.runtime.config.tz)


# Coordinators: plan, review, publish -----------------------------------------------------------------


async def plan(update: Update, context: BotContext) -> None:
    """Draft next week's runs from the open needs and show the plan for review."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    tz = context.runtime.config.tz
    week_start, _ = await run_service.plan_next_week(context.store, context.me, tz)
    await show_plan(update, context, week_start)


PLAN_PAGE = 10  # runs per page: a week at full scale has ~80, and Telegram caps a message's text and buttons


async def show_plan(update: Update, context: BotContext, week_start: date, *, note: str = "", edit: bool = False,
                    page: int = 0) -> None:
    """The week's runs a page at a time, drafts with their buttons; `note` says first what a change just did.
    While a Drop holds prisoners out of the week, every page offers to put them back."""
    t = context.t
    plan = await run_service.week_plan(context.store, context.me, week_start, context.runtime.config.tz)
    lines = plan.lines
    put_back = [Choice(t("↩ Put the dropped parcels back in the plan ({count})", count=plan.dropped), "runs.undrop",
                       {"week": week_start.toordinal()})] if plan.dropped else None
    if not lines:
        day = week_start.strftime("%d.%m.%Y")
        nothing = (t("No tasks left in the plan for the week from {day}: every draft was taken out.", day=day)
                   if plan.dropped else
                   t("Nothing to plan for the week from {day}: no open needs fit a handover window.", day=day))
        await show(update, context, f"{note}\n{nothing}" if note else nothing, [put_back] if put_back else None,
                   edit=edit)
        return
    drafts = sum(1 for line in lines if line.status.value == "draft")
    shown, page, pages = page_of(lines, page, PLAN_PAGE)
    text = [note] if note else []
    text.append(t("Plan for the week from {day}:", day=week_start.strftime("%d.%m.%Y")))
    if pages > 1:
        text.append(t("{count} tasks (drafts: {drafts}) · page {page} of {pages}", count=len(lines),
                      drafts=drafts, page=page + 1, pages=pages))
    rows: list[list[Choice]] = []
    for line in shown:
        status = t("draft") if line.status.value == "draft" else t("published")
        text.append(f"{status} · {run_text(context, line)}")
        if line.status.value == "draft":
            rows.append([Choice(t("Drop {code}", code=line.code), "runs.drop", {"run": line.id, "page": page}),
                         Choice(t("Places 1↔2 {code}", code=line.code), "runs.places", {"run": line.id}),
                         Choice(t("Change {code}", code=line.code), "plan.change", {"run": line.id, "page": page})])
    turns = page_turns(t, "plan.page", page, pages, week=week_start.toordinal())
    if turns:
        rows.append(turns)
    if put_back:
        rows.append(put_back)
    if drafts:
        rows.append([Choice(t("Publish all"), "runs.publish", {"week": week_start.toordinal()})])
    await show(update, context, "\n".join(text), rows, edit=edit)


async def publish(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Publish the week's drafts; the "announce_run" job tells matching volunteers, so a big announcement
    never holds up this button (production sends also pass PTB's AIORateLimiter)."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    tz = context.runtime.config.tz
    try:
        notices = await run_service.publish_week(context.store, context.me, date.fromordinal(payload["week"]), tz)
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    await show(update, context, context.t("Published. Volunteers to be told: {count}.", count=len(notices)))


async def announce(context: BotContext, notice: run_service.Announcement) -> None:
    """'2 new tasks for Thursday': no code, place or name on the lock screen."""
    t = translator(notice.member.language)
    lines = [t.plural("{count} new task for {day}", "{count} new tasks for {day}", count,
                      day=f"{t(WEEKDAYS[day.weekday()])} {day:%d.%m}") for day, count in notice.by_day]
    lines.append(t("Send /runs to see them."))
    # Already translated here (plural forms); send_to_member's lookup then finds nothing and keeps it.
    await send_to_member(context, notice.member, "\n".join(lines), keep=False)


async def drop(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Take a draft run out of the week's plan, then show the plan again (the same page): its prisoners
    wait for next week's plan, unless put back (the plan offers it while any are out)."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    try:
        code = await run_service.run_code(context.store, payload["run"])
        week_start = await run_service.drop(context.store, context.me, payload["run"], context.runtime.config.tz)
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    note = context.t("{code} taken out of this week's plan; its parcels go into next week's.", code=code)
    await show_plan(update, context, week_start, note=note, edit=True, page=int(payload.get("page", 0)))


async def undrop(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Every Drop of the week undone: those prisoners are drafted again for it, at once."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    week_start = date.fromordinal(payload["week"])
    try:
        await run_service.put_back(context.store, context.me, week_start, context.runtime.config.tz)
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    await show_plan(update, context, week_start, note=context.t("Put back in the plan."), edit=True)


async def places(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Switch a run between one and two volunteer places."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    try:
        count = await run_service.toggle_places(context.store, context.me, payload["run"])
        code = await run_service.run_code(context.store, payload["run"])
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    await show(update, context, context.t.plural("{code} now takes {count} volunteer.", "{code} now takes {count} "
                                                 "volunteers.", count, code=code))


# Coordinators: call a published run off ---------------------------------------------------------------

CALL_OFF_PAGE = 8
PARTNER_LEFT = N_("Update on task {code}: your partner has given their place back.")
CALLED_OFF_NOTICE = N_("Update: task {code} is called off. There is no need to go. Thank you.")


async def call_off_list(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """From /board: the published runs that have not started yet, one button each, a page at a time."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t = context.t
    try:
        lines = await run_service.upcoming_published(context.store, context.me, context.runtime.clock.now())
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    if not lines:
        await show(update, context, t("No published task is waiting to start in the next two weeks."))
        return
    chunk, page, pages = page_of(lines, int(payload.get("page", 0)), CALL_OFF_PAGE)
    text = [t("Which task is called off? Published and not started, page {page} of {pages}:", page=page + 1,
              pages=pages), *(run_text(context, line) for line in chunk)]
    rows = [[Choice(t("Call off {code}", code=line.code), "runs.calloff_ask", {"run": line.id})] for line in chunk]
    turns = page_turns(t, "runs.calloff_list", page, pages, turn=True)
    # Turning a page edits the list in place; coming from /board sends it anew, so the board stays.
    await show(update, context, "\n".join(text), [*rows, turns] if turns else rows, edit=bool(payload.get("turn")))


async def call_off_ask(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """One question before anything changes: calling a run off tells people and cannot be undone."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    try:
        code = await run_service.run_code(context.store, payload["run"])
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    t = context.t
    await show(update, context, t("Call off {code}? Volunteers holding a place will be told not to go, and its "
                                  "needs open again.", code=code),
               [[Choice(t("Yes, call it off"), "runs.calloff", {"run": payload["run"]}),
                 Choice(t("No, keep it"), "runs.calloff_keep", {})]], edit=True)


async def call_off(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Call the run off, delete its details from every chat, tell those who held a place."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t = context.t
    try:
        called_off = await run_service.call_off(context.store, context.me, payload["run"])
    except RunNotOpen:
        await answer_button(update, t("This task has already started: its volunteers report and check in as usual."))
        return
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    await delete_run_details(context, called_off.run_id)
    told = 0  # those the message reached: not anyone who blocked the bot; in a lockdown, nobody yet
    for member in called_off.to_tell:
        told += await send_to_member(context, member, CALLED_OFF_NOTICE, code=called_off.code,
                                     about_run=called_off.run_id) is not None
    log.info("run called off: run=%s told=%s", called_off.run_id, told)
    if in_lockdown(context) and called_off.to_tell:
        done = t("{code} is called off; its needs are open again. Its volunteers will be told when the lockdown "
                 "ends.", code=called_off.code)
    else:
        done = t("{code} is called off; its needs are open again. Volunteers told: {count}.", code=called_off.code,
                 count=told)
    await show(update, context, done, edit=True)


async def call_off_keep(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    await show(update, context, context.t("Nothing changed."), edit=True)


# Volunteers: open runs, claim -------------------------------------------------------------------------


def _volunteer(context: BotContext) -> bool:
    member = context.me
    return member.role is Role.VOLUNTEER and member.status is MemberStatus.ACTIVE


async def open_runs(update: Update, context: BotContext) -> None:
    """Open tasks in the volunteer's areas, each with a Claim button."""
    if not _volunteer(context):
        await deny(update, context)
        return
    t = context.t
    if not await within_limit(update, context, "list_view"):
        return
    lines, more = await run_service.open_runs(context.store, context.me)
    if not lines:
        await show(update, context, t("No open tasks in your areas right now. You will hear when there are."))
        return
    rows = [[Choice(t("Claim {code}", code=line.code), "runs.claim", {"run": line.id})] for line in lines]
    text = [t("Open tasks:"), *(run_text(context, line) for line in lines)]
    if more:  # later ones: they show here as these fill or pass
        text.append(t("… and {count} more, later.", count=more))
    await show(update, context, "\n".join(text), rows)


async def claim(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Take a place; a volunteer still on trial waits for a coordinator."""
    if not _volunteer(context):
        await deny(update, context)
        return
    t, member, runtime = context.t, context.me, context.runtime
    if not await within_limit(update, context, "claim"):
        return
    trial = member.on_trial(runtime.config.trial_runs)
    try:
        assignment = await claims.claim(context.store, payload["run"], member.id, cap=runtime.config.claim_cap,
                                        trial=trial, grace_hours=runtime.config.checkin_grace_hours)
        code = await run_service.run_code(context.store, assignment.run_id)
    except DomainError as error:
        await show(update, context, _error_text(context, error))
        return
    log.info("run claimed: member=%s run=%s trial=%s", member.id, assignment.run_id, trial)
    if trial:
        await show(update, context, t("Thank you. A coordinator will confirm your place on {code} soon; you will be "
                                      "told, and then Details in /myruns shows them.", code=code))
        await _ask_coordinators(context, assignment.id)
    else:
        await show(update, context, t("Thank you. The place on {code} is yours. The details follow now; "
                                      "see /myruns.", code=code))
        await send_details(context, member, assignment.id)


async def _ask_coordinators(context: BotContext, assignment_id: int) -> None:
    """A trial claim: every active coordinator gets the neutral alert with Approve / Reject."""
    async with context.store.read() as uow:
        coordinators = await uow.members.list(role=Role.COORDINATOR, statuses=(MemberStatus.ACTIVE,))
    ttl = context.runtime.config.callback_ttl_hours
    for coordinator in coordinators:
        t = translator(coordinator.language)
        rows = [[Choice(t("Approve"), "runs.approve", {"assignment": assignment_id}),
                 Choice(t("Reject"), "runs.reject", {"assignment": assignment_id})]]
        tokens = await button_service.issue(context.store, coordinator.id, rows, ttl_hours=ttl, lasting=True)
        try:
            await context.bot.send_message(coordinator.chat_id, t("A claim is waiting for approval. Open /board."),
                                           reply_markup=keyboard(tokens))
        except TelegramError as error:
            log.warning("approval request not sent: member=%s error=%s", coordinator.id, type(error).__name__)


async def _decide(update: Update, context: BotContext, payload: dict[str, Any], approve: bool) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    try:
        if approve:
            assignment = await claims.approve(context.store, payload["assignment"], context.me.id,
                                              grace_hours=context.runtime.config.checkin_grace_hours)
        else:
            assignment = await claims.reject(context.store, payload["assignment"], context.me.id)
        code = await run_service.run_code(context.store, assignment.run_id)
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    async with context.store.read() as uow:
        volunteer = await uow.members.get(assignment.member_id)
    if approve:
        await show(update, context, context.t("Approved: {code}.", code=code))
        # Not the details themselves: they go only in answer to the volunteer's own tap, and the phone
        # may have changed hands since the claim.
        message = "Your place on {code} is confirmed. Press Details in /myruns when you need them."
    else:
        await show(update, context, context.t("Rejected: {code}. The place is free again.", code=code))
        message = "A coordinator could not confirm your place on {code} this time. Thank you for offering."
    if volunteer is not None:
        await send_to_member(context, volunteer, message, code=code, about_run=assignment.run_id)


async def approve(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """A coordinator accepts a trial volunteer's claim."""
    await _decide(update, context, payload, approve=True)


async def reject(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """A coordinator declines a trial volunteer's claim; the place opens again."""
    await _decide(update, context, payload, approve=False)


# Volunteers: my runs, release ------------------------------------------------------------------------

# Per-run buttons: (label, action) pairs, payload {"assignment": id}; every action re-checks ownership and state.
DETAILS = (N_("Details {code}"), "runs.details")
CONFIRM = (N_("Confirm {code}"), "runs.confirm")
GIVE_BACK = (N_("Give back {code}"), "runs.release")
REPORT = (N_("Report {code}"), "runs.report")
SAFE = (N_("I'm safe {code}"), "runs.safe")
PARTNER = (N_("Message partner {code}"), "runs.partner")  # runs with two places (handlers/partners.py)
BUTTONS_PER_ROW = 3
MY_RUN_STATES = {"awaiting_approval": N_("waiting for a coordinator"), "claimed": N_("yours"),
                 "confirmed": N_("confirmed"), "reported": N_("reported, thank you")}


def my_run_buttons(item: run_service.MyRun, now: datetime) -> list[tuple[str, str]]:
    """Only what can work now: Confirm and Give back before the window, Report and I'm safe from its
    start, Details and Message partner until its end, nothing once reported or while a coordinator
    has not yet confirmed the place (but giving it back)."""
    line = item.line
    started, ended = now >= line.window_start, now >= line.window_end
    if item.status == "reported":
        return []
    if item.status == "awaiting_approval":
        return [] if started else [GIVE_BACK]
    buttons = [] if ended else [DETAILS]
    if not started:
        buttons += [CONFIRM, GIVE_BACK] if item.status == "claimed" else [GIVE_BACK]
    else:
        buttons += [REPORT, SAFE]
    if line.places > 1 and not ended:
        buttons.append(PARTNER)
    return buttons


async def my_runs(update: Update, context: BotContext) -> None:
    """The volunteer's claimed tasks, each with the buttons that can work now."""
    if not _volunteer(context):
        await deny(update, context)
        return
    t = context.t
    mine = await run_service.my_runs(context.store, context.me)
    if not mine:
        await show(update, context, t("You have no tasks now. Send /runs to see open ones."))
        return
    now = context.runtime.clock.now()
    text = [t("Your tasks:")]
    rows = []
    for item in mine:
        text.append(f"{run_text(context, item.line, places=False)} · {t(MY_RUN_STATES.get(item.status, 'yours'))}")
        choices = [Choice(t(label, code=item.line.code), action, {"assignment": item.assignment_id})
                   for label, action in my_run_buttons(item, now)]
        rows += [choices[i:i + BUTTONS_PER_ROW] for i in range(0, len(choices), BUTTONS_PER_ROW)]
    await show(update, context, "\n".join(text), rows)


async def release(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Give one's own place back; a late one alerts coordinators and announces the run again."""
    if not _volunteer(context):
        await deny(update, context)
        return
    try:
        released = await claims.release(context.store, payload["assignment"], context.me.id)
    except DomainError as error:
        await answer_button(update, _error_text(context, error))
        return
    done = show(update, context, context.t("Done: the place is free again. Thank you for telling us in time."))
    # The details (and partners' messages) go with the place, in the same round trip as the answer
    await together(delete_run_details(context, released.run_id, context.me.id), done)
    for partner in released.partners:  # nobody waits at the gate for someone who is not coming
        await send_to_member(context, partner, PARTNER_LEFT, code=released.code, about_run=released.run_id)
    if released.late:  # (the release booked the run's announcement to the area again: schedules/runs.py)
        await tell_coordinators(context, "A place was given back less than a day before the task. Open /board.")


COMMANDS = {"plan": plan, "runs": open_runs, "myruns": my_runs}
ACTIONS = {
    "runs.publish": publish, "runs.drop": drop, "runs.undrop": undrop, "runs.places": places, "runs.claim": claim,
    "runs.approve": approve, "runs.reject": reject, "runs.release": release,
    "runs.calloff_list": call_off_list, "runs.calloff_ask": call_off_ask, "runs.calloff": call_off,
    "runs.calloff_keep": call_off_keep,
}

