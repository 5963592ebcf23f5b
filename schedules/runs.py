"""The runs' scheduled work: announce, remind, deadlines, missed check-ins. Rows booked by bot/services/run_jobs.py.

Each handler runs inside the transaction that marks its row done, re-checks the state (a stale row does
nothing) and returns the messages to send after the commit. While the bot is in lockdown nothing goes to
volunteers: such work is postponed, not dropped. Check-in deadlines wait too (nobody can check in), and
when the lockdown ends each falls a full grace period later at the earliest (bot/services/lockdown.py):
a lockdown freezes nobody and sends no false alarm, and it delays the alert for a volunteer who really
is missing until a grace period after it ends.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import AssignmentStatus, MemberStatus, Role, RunStatus
from bot.i18n import format_window, translator
from bot.services import buttons as button_service
from bot.services import outcomes, run_jobs
from bot.services import runs as run_service
from bot.services.buttons import Choice
from handlers.cleanup import clear_chat
from handlers.commands_menu import clear_menu
from handlers.context import BotContext
from handlers.notify import in_lockdown, send_to_member, tell_coordinators
from handlers.run_details import delete_run_details
from handlers.runs import announce
from handlers.ui import keyboard
from schedules.jobs import Send, job
from storage.repositories import UnitOfWork

LOCKDOWN_RETRY = timedelta(minutes=15)
HOLDING = (AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED)


async def _postpone(uow: UnitOfWork, kind: str, ref_id: int) -> None:
    await uow.schedule.postpone(kind, ref_id, uow.clock.now() + LOCKDOWN_RETRY)


@job(run_jobs.ANNOUNCE)
async def announce_runs(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """Every announcement due now, gathered: a volunteer hears "2 new tasks for Thursday" once, not per run."""
    if in_lockdown(context):
        await _postpone(uow, run_jobs.ANNOUNCE, ref_id)
        return None
    now = uow.clock.now()
    run_ids = [ref_id]
    for item in await uow.schedule.due(now):
        if item.kind == run_jobs.ANNOUNCE and item.ref_id != ref_id and await uow.schedule.mark_done(item.id):
            run_ids.append(item.ref_id)
    runs = [run for run in [await uow.runs.get(run_id) for run_id in run_ids]
            if run is not None and run.status is RunStatus.PUBLISHED and run.window_start > now]
    if not runs:
        return None
    facilities = {facility.id: facility for facility in await uow.facilities.list()}
    volunteers = await uow.members.list(role=Role.VOLUNTEER, statuses=(MemberStatus.ACTIVE,))
    notices = run_service.announcements(runs, facilities, volunteers, context.runtime.config.tz)

    async def send() -> None:
        for notice in notices:
            await announce(context, notice)

    return send


@job(run_jobs.UNCLAIMED_ALERT)
async def unclaimed_alert(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """48 h before: a run with free places goes to the coordinators."""
    run = await uow.runs.get(ref_id)
    if run is None or run.status is not RunStatus.PUBLISHED:
        return None
    left = run.places - await uow.runs.live_count(run.id)
    if left <= 0:
        return None

    async def send() -> None:
        await tell_coordinators(context, "Task {code} still has free places: {left}. It starts within two days. "
                                         "Open /board.", code=run.code, left=left)

    return send


async def _holding(uow: UnitOfWork, assignment_id: int):
    """The assignment and its run while the place is still held on a published run; else (None, None)."""
    assignment = await uow.runs.get_assignment(assignment_id)
    if assignment is None or assignment.status not in HOLDING:
        return None, None
    run = await uow.runs.get(assignment.run_id)
    member = await uow.members.get(assignment.member_id)
    if run is None or run.status is not RunStatus.PUBLISHED or member is None \
            or member.status is not MemberStatus.ACTIVE:
        return None, None
    return assignment, (run, member)


async def _send_with_buttons(context: BotContext, member, text: str, rows: list[list[Choice]]) -> None:
    tokens = await button_service.issue(context.store, member.id, rows,
                                        ttl_hours=context.runtime.config.callback_ttl_hours, lasting=True)
    try:
        await context.bot.send_message(member.chat_id, text, reply_markup=keyboard(tokens))
    except Exception:  # noqa: BLE001 - a reminder that cannot go is seen on /board anyway
        await send_to_member(context, member, text)


@job(run_jobs.REMIND)
async def remind(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """24 h before: "Reminder for tomorrow", with Confirm."""
    assignment, held = await _holding(uow, ref_id)
    if assignment is None:
        return None
    run, member = held
    if in_lockdown(context):
        if uow.clock.now() < run.window_start:
            await _postpone(uow, run_jobs.REMIND, ref_id)
        return None

    async def send() -> None:
        t = translator(member.language)
        text = t("Reminder for tomorrow: task {code}, {window}. Please confirm that you are going.", code=run.code,
                 window=format_window(run.window_start, run.window_end, member.language, context.runtime.config.tz))
        rows = [[Choice(t("Confirm {code}", code=run.code), "runs.confirm", {"assignment": assignment.id}),
                 Choice(t("Details {code}", code=run.code), "runs.details", {"assignment": assignment.id})],
                [Choice(t("Give back {code}", code=run.code), "runs.release", {"assignment": assignment.id})]]
        await _send_with_buttons(context, member, text, rows)

    return send


@job(run_jobs.REANNOUNCE)
async def reannounce(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """A place given back late: if it is still free, the area's other volunteers hear of the run again."""
    if in_lockdown(context):
        await _postpone(uow, run_jobs.REANNOUNCE, ref_id)
        return None
    run = await uow.runs.get(ref_id)
    if (run is None or run.status is not RunStatus.PUBLISHED or run.window_start <= uow.clock.now()
            or await uow.runs.live_count(run.id) >= run.places):
        return None  # called off, started, or taken again meanwhile
    notices = await run_service.offered_again(uow, run, context.runtime.config.tz)

    async def send() -> None:
        for notice in notices:
            await announce(context, notice)

    return send


@job(run_jobs.CONFIRM_DEADLINE)
async def confirm_deadline(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """12 h before and not confirmed: the place is offered again, coordinators are told, the run re-announced."""
    assignment, held = await _holding(uow, ref_id)
    if assignment is None or assignment.status is not AssignmentStatus.CLAIMED:
        return None
    run, member = held
    await uow.runs.set_assignment_status(assignment.id, AssignmentStatus.RELEASED,
                                         only_from=(AssignmentStatus.CLAIMED,))
    await run_jobs.cancel_assignment(uow, assignment.id)
    await uow.audit.add("run.unconfirmed", actor_id=None, subject=run.code)
    notices = [] if in_lockdown(context) else await run_service.offered_again(uow, run, context.runtime.config.tz)

    async def send() -> None:
        await delete_run_details(context, run.id, member.id)
        await tell_coordinators(context, "Not confirmed: task {code} ({pseudonym}). The place is offered again. "
                                         "Open /board.", code=run.code, pseudonym=member.pseudonym)
        if not in_lockdown(context):
            await send_to_member(context, member, "You did not confirm {code}, so the place was offered to others. "
                                                  "Thank you for your help.", code=run.code, about_run=run.id)
            for notice in notices:
                await announce(context, notice)

    return send


@job(run_jobs.REPORT_PROMPT)
async def report_prompt(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """At the window's end: please report, or at least say you are safe."""
    assignment, held = await _holding(uow, ref_id)
    if assignment is None or assignment.checked_in_at is not None:
        return None
    run, member = held
    if in_lockdown(context):
        await _postpone(uow, run_jobs.REPORT_PROMPT, ref_id)
        return None

    async def send() -> None:
        t = translator(member.language)
        rows = [[Choice(t("Report {code}", code=run.code), "runs.report", {"assignment": assignment.id}),
                 Choice(t("I'm safe {code}", code=run.code), "runs.safe", {"assignment": assignment.id})]]
        await _send_with_buttons(context, member, t("Update on task {code}: please report how it went, or at least "
                                                    "tell us you are safe.", code=run.code), rows)

    return send


@job(run_jobs.CHECKIN_DEADLINE)
async def checkin_deadline(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """Window end + grace and no check-in: alert coordinators at once and freeze the volunteer (in this
    transaction, so it is never lost); their tracked messages are deleted right after.

    In lockdown volunteers cannot check in (only coordinators are served), so the deadline waits like
    every other job, and lifting the lockdown moves it a full grace period on (bot/services/lockdown.py).
    Otherwise a lockdown would freeze everyone out on a run and bury a real detention among false
    alarms."""
    if in_lockdown(context):
        await _postpone(uow, run_jobs.CHECKIN_DEADLINE, ref_id)
        return None
    missed = await outcomes.missed_checkin_in(uow, ref_id, context.runtime.config.second_alert_hours)
    if missed is None:
        return None

    async def send() -> None:
        await tell_coordinators(context, "Missed check-in: {pseudonym}, task {code}. Their account is frozen.",
                                pseudonym=missed.pseudonym, code=missed.code)
        # Whoever holds the phone now finds no details, no recent run lists, only /start in the menu.
        await clear_chat(context.bot, context.store, context.runtime.recent, missed.messages, missed.chat_id or 0)
        if missed.chat_id:
            await clear_menu(context.bot, missed.chat_id)

    return send


@job(run_jobs.SECOND_ALERT)
async def second_alert(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    missing = await outcomes.still_missing_in(uow, ref_id)
    if missing is None:
        return None

    async def send() -> None:
        await tell_coordinators(context, "Still no check-in: {pseudonym}, task {code}.",
                                pseudonym=missing.pseudonym, code=missing.code)

    return send
