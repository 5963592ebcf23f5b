"""When a run's reminders and deadlines fall due: the scheduled rows booked as runs are published and claimed.

Every reminder and deadline is a `scheduled` row (kind, ref_id, due_at); schedules/runs.py acts on them.
Per run (ref_id = run id): "announce_run" (at once, so a big announcement never blocks the coordinator's
button), "unclaimed_alert" (48 h before the window) and "reannounce_run" (a place given back within a
day of the window: offered to the area again, once per run). Per assignment (ref_id = assignment id):
"remind_run" (24 h before: confirm), "confirm_deadline" (12 h before), "report_prompt" (window end:
report or say you are safe) and "checkin_deadline" (window end + grace); the missed check-in books
"checkin_second_alert" itself. Every job re-checks the state when it runs, so a stale row does nothing.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Run
from storage.repositories import UnitOfWork

ANNOUNCE = "announce_run"
REANNOUNCE = "reannounce_run"
UNCLAIMED_ALERT = "unclaimed_alert"
REMIND = "remind_run"
CONFIRM_DEADLINE = "confirm_deadline"
REPORT_PROMPT = "report_prompt"
CHECKIN_DEADLINE = "checkin_deadline"
SECOND_ALERT = "checkin_second_alert"

REMIND_BEFORE = timedelta(hours=24)
CONFIRM_BEFORE = timedelta(hours=12)
UNCLAIMED_BEFORE = timedelta(hours=48)
DEFAULT_GRACE_HOURS = 4

# Scheduled work keyed by an assignment id; released, rejected or missed assignments drop what is pending.
ASSIGNMENT_JOBS: tuple[str, ...] = (REMIND, CONFIRM_DEADLINE, REPORT_PROMPT, CHECKIN_DEADLINE, SECOND_ALERT)
RUN_JOBS: tuple[str, ...] = (ANNOUNCE, UNCLAIMED_ALERT, REANNOUNCE)


async def book_run(uow: UnitOfWork, run: Run) -> None:
    """A run just published: announce it now, and check 48 h before that its places are taken."""
    await uow.schedule.put(ANNOUNCE, run.id, uow.clock.now())
    await uow.schedule.put(UNCLAIMED_ALERT, run.id, run.window_start - UNCLAIMED_BEFORE)


async def book_reannounce(uow: UnitOfWork, run: Run) -> None:
    """A place given back late: announce the run again at the next round (not in the volunteer's button)."""
    await uow.schedule.put(REANNOUNCE, run.id, uow.clock.now())


async def book_assignment(uow: UnitOfWork, run: Run, assignment_id: int, *,
                          grace_hours: int = DEFAULT_GRACE_HOURS) -> None:
    """A place that is the volunteer's (claimed by a trusted volunteer, or approved): its reminders and deadlines.

    A reminder whose time has passed (claimed less than a day before) goes at the next round."""
    await uow.schedule.put_many([
        (REMIND, assignment_id, run.window_start - REMIND_BEFORE),
        (CONFIRM_DEADLINE, assignment_id, run.window_start - CONFIRM_BEFORE),
        (REPORT_PROMPT, assignment_id, run.window_end),
        (CHECKIN_DEADLINE, assignment_id, run.window_end + timedelta(hours=grace_hours)),
    ])


async def cancel_assignment(uow: UnitOfWork, assignment_id: int) -> None:
    await uow.schedule.cancel_ref(assignment_id, ASSIGNMENT_JOBS)


async def cancel_run(uow: UnitOfWork, run_id: int) -> None:
    """A run called off: no announcement or unclaimed alert for it any more."""
    await uow.schedule.cancel_ref(run_id, RUN_JOBS)
