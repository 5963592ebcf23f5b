"""The coordinators' board: this week's runs and the next three days', status first, what needs action at the top.

Missed check-ins come first (someone may have been detained), then claims waiting for approval, then
one line per run. A run is flagged when it still has free places within 48 h of its window, or a place
is not confirmed within 24 h.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import AssignmentStatus, Member, MemberStatus, RunStatus
from bot.services import runs as run_service
from bot.services.run_jobs import REMIND_BEFORE, UNCLAIMED_BEFORE
from bot.services.runs import RunLine
from storage.store import Store

SHOWN_RUNS = (RunStatus.PUBLISHED, RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)
UNCONFIRMED_WARNING = REMIND_BEFORE  # 24 h: the reminder went and nobody confirmed yet


@dataclass(frozen=True)
class BoardRun:
    line: RunLine
    state: str  # open | claimed | confirmed | done | failed | called off
    confirmed: int
    warning: bool


@dataclass(frozen=True)
class PersonOnRun:
    assignment_id: int
    pseudonym: str
    code: str


@dataclass(frozen=True)
class Board:
    missed: tuple[PersonOnRun, ...]
    waiting: tuple[PersonOnRun, ...]
    runs: tuple[BoardRun, ...]


def _state(run_status: RunStatus, live: list, places: int) -> str:
    if run_status is RunStatus.DONE:
        return "done"
    if run_status is RunStatus.FAILED:
        return "failed"
    if run_status is RunStatus.CANCELLED:
        return "called off"
    if not live:
        return "open"
    confirmed = [a for a in live if a.status is AssignmentStatus.CONFIRMED]
    return "confirmed" if len(confirmed) >= places else "claimed"


# Past the week's end, as far as the alerts reach: the 48 h "free places" alert on a Sunday names a
# Tuesday run, and the board it points to shows it (a day to spare). Not the whole next week: that is
# /plan's, and a board of a hundred runs would bury what needs action.
AHEAD = UNCLAIMED_BEFORE + timedelta(days=1)


async def board(store: Store, actor: Member, now: datetime, tz) -> Board:
    """This local week (from Monday) and the next AHEAD, plus anything missed in the last seven days by
    someone still frozen (a coordinator who reinstated them has dealt with it)."""
    run_service.require_coordinator(actor)
    today = now.astimezone(tz).date()
    start, week_end = run_service.week_bounds(today - timedelta(days=today.weekday()), tz)
    end = max(week_end, now + AHEAD)
    async with store.read() as uow:
        runs = await uow.runs.list(statuses=SHOWN_RUNS, start=start, end=end)
        lines = {line.id: line for line in await run_service.lines_in(uow, runs)}
        missed_rows = await uow.runs.assignments_by_status((AssignmentStatus.MISSED,), start=now - timedelta(days=7),
                                                           end=end)
        waiting_rows = await uow.runs.assignments_by_status((AssignmentStatus.AWAITING_APPROVAL,), start=now,
                                                            end=now + timedelta(days=14))
        rows = (*missed_rows, *waiting_rows)
        # One query each, however many runs and people the board shows.
        members = await uow.members.many({row.member_id for row in rows})
        missed_rows = [row for row in missed_rows
                       if row.member_id in members and members[row.member_id].status is MemberStatus.FROZEN]
        people = {member_id: member.pseudonym for member_id, member in members.items()}
        codes: dict[int, str] = {run.id: run.code for run in runs}
        for run in await uow.runs.list_by_ids({row.run_id for row in rows} - codes.keys()):
            codes[run.id] = run.code
        live = await uow.runs.live_assignments_of_runs(run.id for run in runs)
    items = []
    for run in runs:
        line = lines[run.id]
        holders = [a for a in live[run.id] if a.status is not AssignmentStatus.REPORTED]
        state = _state(run.status, live[run.id], run.places)
        confirmed = sum(a.status in (AssignmentStatus.CONFIRMED, AssignmentStatus.REPORTED) for a in live[run.id])
        upcoming = run.status is RunStatus.PUBLISHED and now < run.window_start
        unclaimed = upcoming and line.places_left > 0 and run.window_start - now <= UNCLAIMED_BEFORE
        unconfirmed = upcoming and run.window_start - now <= UNCONFIRMED_WARNING and any(
            a.status is not AssignmentStatus.CONFIRMED for a in holders)
        items.append(BoardRun(line, state, confirmed, unclaimed or unconfirmed))
    return Board(
        tuple(PersonOnRun(a.id, people.get(a.member_id, "—"), codes.get(a.run_id, "—")) for a in missed_rows),
        tuple(PersonOnRun(a.id, people.get(a.member_id, "—"), codes.get(a.run_id, "—")) for a in waiting_rows),
        tuple(items),
    )
