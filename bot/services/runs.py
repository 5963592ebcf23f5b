"""Runs as coordinators and volunteers see them: plan the week, review and publish, list, claim views.

Lists are coarse on purpose (area, facility kind, day, window, size, categories): names and addresses
reach only the assigned volunteer, later, in the details message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import (
    AssignmentStatus,
    FacilityKind,
    Member,
    MemberStatus,
    NeedStatus,
    PrisonerStatus,
    Role,
    Run,
    RunStatus,
)
from bot.services import planner, run_jobs
from bot.services import prisoners as prisoner_service
from bot.services.errors import NotAllowed, NotFound, RunNotOpen
from bot.services.planner import PlanFacility, PlanNeed, PlanPrisoner
from storage.repositories import UnitOfWork
from storage.store import Store

PLANNABLE = (PrisonerStatus.PRE_TRIAL, PrisonerStatus.SENTENCED)
OPEN_LIST_LIMIT = 20  # a volunteer's /runs shows at most this many: no one browses the whole week


@dataclass(frozen=True)
class RunLine:
    """One run, coarse: what any list may show."""

    id: int
    code: str
    status: RunStatus
    facility_kind: FacilityKind
    area: str
    window_start: datetime
    window_end: datetime
    parcels: int
    weight_g: int
    categories: tuple[str, ...]
    places: int
    taken: int

    @property
    def places_left(self) -> int:
        return max(self.places - self.taken, 0)


def require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator or actor.status is not MemberStatus.ACTIVE:
        raise NotAllowed()


def next_week_start(now: datetime, tz: ZoneInfo) -> date:
    """The Monday after the current local week."""
    today = now.astimezone(tz).date()
    return today + timedelta(days=7 - today.weekday())


def week_bounds(week_start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(week_start, datetime.min.time(), tz)
    return start, datetime.combine(week_start + timedelta(days=7), datetime.min.time(), tz)


# Planning --------------------------------------------------------------------------------------------


async def _already_served(uow: UnitOfWork, week_start: date, tz: ZoneInfo) -> set[int]:
    """Prisoners who already have a parcel on a live run that week: one parcel a week each."""
    start, end = week_bounds(week_start, tz)
    runs = await uow.runs.list(statuses=(RunStatus.DRAFT, RunStatus.PUBLISHED, RunStatus.DONE), start=start, end=end)
    return await uow.runs.prisoners_on([run.id for run in runs])


async def plan(store: Store, week_start: date, tz: ZoneInfo) -> list[Run]:
    """Draft runs for the week from every open need; the needs they carry become 'planned'."""
    async with store.write() as uow:
        return await plan_in(uow, week_start, tz)


async def plan_in(uow: UnitOfWork, week_start: date, tz: ZoneInfo) -> list[Run]:
    """The same inside a caller's transaction (the scheduled planning job marks its row done with it)."""
    facilities = await uow.facilities.list(on=week_start)
    # One parcel a week each, and nobody a coordinator dropped from this week's plan.
    left_out = await _already_served(uow, week_start, tz) | await uow.prisoners.not_in_week(week_start)
    people = [p for p in await uow.prisoners.list(statuses=PLANNABLE) if p.id not in left_out]
    needs = await uow.needs.list(status=NeedStatus.OPEN, prisoner_ids=[p.id for p in people])
    allowances = await prisoner_service.allowances(uow, sorted({need.prisoner_id for need in needs}), week_start,
                                                   known={p.id: p for p in people})
    drafts = planner.plan_week(
        week_start,
        [PlanFacility(f.id, f.area_id, f.rules.windows, f.places) for f in facilities],
        [PlanPrisoner(p.id, p.facility_id, p.last_parcel_on, allowances[p.id]) for p in people
         if p.id in allowances],
        [PlanNeed(n.id, n.prisoner_id, n.category.value, n.weight_g, n.urgency.value, n.created_at, n.due_on)
         for n in needs],
        tz,
    )
    contents = {need.id: need.details for need in needs}
    return [await uow.runs.add_draft(draft, contents) for draft in drafts]


async def plan_next_week(store: Store, actor: Member, tz: ZoneInfo) -> tuple[date, list[Run]]:
    require_coordinator(actor)
    week_start = next_week_start(store.clock.now(), tz)
    return week_start, await plan(store, week_start, tz)


# Views -----------------------------------------------------------------------------------------------


async def _lines(uow: UnitOfWork, runs: list[Run],
                 placements: dict[int, tuple[FacilityKind, int | None]] | None = None) -> list[RunLine]:
    if not runs:
        return []
    # Kind and area only (plain columns): opening every facility's name, address and rules per list was
    # the bulk of a /runs reply. A caller that already read the placements passes them in.
    if placements is None:
        placements = await uow.facilities.placements()
    areas = {area.id: area.name for area in await uow.areas.list()}
    counts = await uow.runs.parcel_counts(run.id for run in runs)
    taken = await uow.runs.live_counts(run.id for run in runs)
    lines = []
    for run in runs:
        kind, area_id = placements.get(run.facility_id, (FacilityKind.OTHER, None))
        parcels, grams, categories = counts[run.id]
        lines.append(RunLine(
            run.id, run.code, run.status, kind, areas.get(area_id, "") if area_id is not None else "",
            run.window_start, run.window_end, parcels, grams, categories, run.places, taken[run.id],
        ))
    return lines


async def lines_in(uow: UnitOfWork, runs: list[Run]) -> list[RunLine]:
    """Coarse lines for runs read in the caller's transaction (the coordinators' board)."""
    return await _lines(uow, runs)


@dataclass(frozen=True)
class WeekPlan:
    lines: list[RunLine]
    dropped: int  # prisoners taken out of this week's plan by a Drop (they can be put back)


async def week_plan(store: Store, actor: Member, week_start: date, tz: ZoneInfo) -> WeekPlan:
    require_coordinator(actor)
    start, end = week_bounds(week_start, tz)
    async with store.read() as uow:
        runs = await uow.runs.list(statuses=(RunStatus.DRAFT, RunStatus.PUBLISHED), start=start, end=end)
        return WeekPlan(await _lines(uow, runs), len(await uow.prisoners.not_in_week(week_start)))


async def open_runs(store: Store, member: Member) -> tuple[list[RunLine], int]:
    """Published future runs with a place left, in the member's areas only (need-to-know), except those
    the member already holds a place on (/myruns shows them): the soonest OPEN_LIST_LIMIT, and how many
    more there are."""
    if member.role is not Role.VOLUNTEER or member.status is not MemberStatus.ACTIVE:
        raise NotAllowed()
    async with store.read() as uow:
        now = uow.clock.now()
        placements = await uow.facilities.placements()
        nearby = [facility_id for facility_id, (_, area_id) in placements.items() if area_id in member.area_ids]
        held = {assignment.run_id for assignment in await uow.runs.live_assignments_of_member(member.id)}
        runs = [run for run in await uow.runs.list(statuses=(RunStatus.PUBLISHED,), start=now, facility_ids=nearby)
                if run.id not in held]
        lines = await _lines(uow, runs, placements)
    open_lines = [line for line in lines if line.places_left > 0]
    return open_lines[:OPEN_LIST_LIMIT], max(0, len(open_lines) - OPEN_LIST_LIMIT)


@dataclass(frozen=True)
class MyRun:
    assignment_id: int
    status: str
    line: RunLine


async def my_runs(store: Store, member: Member) -> list[MyRun]:
    async with store.read() as uow:
        assignments = await uow.runs.live_assignments_of_member(member.id)
        runs = await uow.runs.list_by_ids({a.run_id for a in assignments})
        lines = {line.id: line for line in await _lines(uow, runs)}
    return sorted((MyRun(a.id, a.status.value, lines[a.run_id]) for a in assignments if a.run_id in lines),
                  key=lambda item: item.line.window_start)


async def run_code(store: Store, run_id: int) -> str:
    """The run's code ("R-3F7K"), which is all a confirmation needs to name it."""
    async with store.read() as uow:
        run = await uow.runs.get(run_id)
    if run is None:
        raise NotFound()
    return run.code


# Review and publish ----------------------------------------------------------------------------------


async def drop(store: Store, actor: Member, run_id: int, tz: ZoneInfo) -> date:
    """A draft out of its week's plan; its prisoners wait for the next week's (or until put back).
    Returns the Monday of its week."""
    require_coordinator(actor)
    async with store.write() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound()
        local = run.window_start.astimezone(tz).date()
        week_start = local - timedelta(days=local.weekday())
        if not await uow.runs.drop(run_id, week_start):
            raise NotFound()
        await uow.audit.add("run.dropped", actor_id=actor.id, subject=run.code)
    return week_start


async def put_back(store: Store, actor: Member, week_start: date, tz: ZoneInfo) -> list[Run]:
    """Undo every Drop of that week: its prisoners are back in the plan, drafted again at once."""
    require_coordinator(actor)
    if week_start + timedelta(days=7) <= store.clock.now().astimezone(tz).date():
        raise NotFound()  # an old button: that week is over
    async with store.write() as uow:
        await uow.prisoners.back_in_week(week_start)
        runs = await plan_in(uow, week_start, tz)
        await uow.audit.add("plan.undropped", actor_id=actor.id)
    return runs


# Calling a published run off -------------------------------------------------------------------------

CALL_OFF_AHEAD = timedelta(days=14)  # what a coordinator may call off: published, not started, this far ahead


@dataclass(frozen=True)
class CalledOff:
    run_id: int
    code: str
    to_tell: tuple[Member, ...]  # active members who held a place or waited for approval


async def upcoming_published(store: Store, actor: Member, now: datetime) -> list[RunLine]:
    """Published runs whose window has not opened yet, the next two weeks, soonest first."""
    require_coordinator(actor)
    async with store.read() as uow:
        return await lines_in(uow, await uow.runs.list(statuses=(RunStatus.PUBLISHED,), start=now,
                                                        end=now + CALL_OFF_AHEAD))


async def call_off(store: Store, actor: Member, run_id: int) -> CalledOff:
    """A published run that will not happen (the facility is closed that day, say): its places are released,
    its needs open again and its reminders and deadlines are dropped, in one transaction.

    Only before its window opens: once volunteers may be on their way, their report and check-in are their
    safety, and a run that could not go is reported as such. Only active holders are told: freezing already
    releases a member's claims, and whoever holds a frozen member's phone must learn nothing new.
    """
    require_coordinator(actor)
    async with store.write() as uow:
        run = await uow.runs.get(run_id)
        if run is None or run.status is not RunStatus.PUBLISHED:
            raise NotFound()
        if run.window_start <= uow.clock.now():
            raise RunNotOpen()
        holders = [assignment for assignment in (await uow.runs.live_assignments_of_runs([run_id]))[run_id]
                   if assignment.status is not AssignmentStatus.REPORTED]
        if not await uow.runs.cancel(run_id):
            raise NotFound()
        for assignment in holders:
            await run_jobs.cancel_assignment(uow, assignment.id)
        await run_jobs.cancel_run(uow, run_id)
        members = await uow.members.many(assignment.member_id for assignment in holders)
        await uow.audit.add("run.called_off", actor_id=actor.id, subject=str(len(holders)))
    to_tell = tuple(member for member in members.values() if member.status is MemberStatus.ACTIVE)
    return CalledOff(run.id, run.code, to_tell)


async def toggle_places(store: Store, actor: Member, run_id: int) -> int:
    """1 <-> 2 volunteer places; only while nobody holds a place that would vanish."""
    require_coordinator(actor)
    async with store.write() as uow:
        run = await uow.runs.get(run_id)
        if run is None or run.status not in (RunStatus.DRAFT, RunStatus.PUBLISHED):
            raise NotFound()
        places = 1 if run.places == 2 else 2
        if places < await uow.runs.live_count(run_id):
            raise NotAllowed()
        await uow.runs.set_places(run_id, places)
        return places


@dataclass(frozen=True)
class Announcement:
    """Who hears about new runs, and how many on which local day: no code, place or name."""

    member: Member
    by_day: tuple[tuple[date, int], ...]


async def publish_week(store: Store, actor: Member, week_start: date, tz: ZoneInfo) -> list[Announcement]:
    """Publish every draft of the week; return who will hear of it (the "announce_run" job tells them)."""
    require_coordinator(actor)
    start, end = week_bounds(week_start, tz)
    async with store.write() as uow:
        drafts = await uow.runs.list(statuses=(RunStatus.DRAFT,), start=start, end=end)
        published = [run for run in drafts if await uow.runs.publish(run.id)]
        for run in published:
            await run_jobs.book_run(uow, run)
        await uow.audit.add("runs.published", actor_id=actor.id, subject=str(len(published)))
        facilities = {facility.id: facility for facility in await uow.facilities.list()}
        volunteers = await uow.members.list(role=Role.VOLUNTEER, statuses=(MemberStatus.ACTIVE,))
    return announcements(published, facilities, volunteers, tz)


async def offered_again(uow: UnitOfWork, run: Run, tz: ZoneInfo) -> list[Announcement]:
    """A place came free close to the window (given back late, or not confirmed): the run is announced
    again to the area's free volunteers, except whoever holds or held a place on it (one who gave it
    back, or did not confirm, is not asked again)."""
    facilities = {facility.id: facility for facility in await uow.facilities.list()}
    been = {assignment.member_id for assignment in await uow.runs.assignments_of(run.id)}
    active = await uow.members.list(role=Role.VOLUNTEER, statuses=(MemberStatus.ACTIVE,))
    return announcements([run], facilities, [volunteer for volunteer in active if volunteer.id not in been], tz)


def announcements(runs: list[Run], facilities: dict, volunteers: list[Member], tz: ZoneInfo) -> list[Announcement]:
    """A volunteer hears of a run when its facility's area is one of theirs and its weekday one of theirs."""
    result = []
    for member in volunteers:
        days: dict[date, int] = defaultdict(int)
        for run in runs:
            facility = facilities.get(run.facility_id)
            day = run.window_start.astimezone(tz).date()
            if facility is not None and facility.area_id in member.area_ids and day.weekday() in member.weekdays:
                days[day] += 1
        if days:
            result.append(Announcement(member, tuple(sorted(days.items()))))
    return result
