"""Changing a week's draft plan by hand before it is published: move a parcel, split a run, merge two.

The planner groups each facility's parcels into runs by handover window; coordinators know what it
cannot (one volunteer can carry only so much, a prisoner's relatives go on Saturday anyway). Every
change stays inside one facility's drafts of one plan week: the planner gave each prisoner at most one
parcel that week and checked it against the allowance for that week, so moving it between that
facility's windows keeps both true. Published runs are never changed here: volunteers may have seen them.

- Move: a parcel goes to another draft of the same facility that week. Moved to no run at all, it goes
  to a new draft in its own window: that is how a run is split.
- Merge: every parcel of one draft goes to another, and the emptied draft is gone.
A draft left without parcels is removed, so the plan never shows an empty run. The planner's own limits
hold for hand-made runs too: at most MAX_PARCELS_PER_RUN parcels and MAX_WEIGHT_G_PER_RUN grams a run
(what one or two volunteers can carry in), at most RUNS_PER_WINDOW runs in one window of a facility.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.domain import Run, RunStatus
from bot.services import runs as run_service
from bot.services.errors import NotAllowed, NotFound, RunTooBig
from bot.services.planner import MAX_PARCELS_PER_RUN, MAX_WEIGHT_G_PER_RUN, RUNS_PER_WINDOW, DraftRun
from bot.services.runs import RunLine, require_coordinator
from storage.repositories import UnitOfWork
from storage.store import Store


@dataclass(frozen=True)
class PlannedParcel:
    id: int
    alias: str  # what coordinators' lists name a prisoner by
    weight_g: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class DraftView:
    line: RunLine
    week_start: date
    parcels: tuple[PlannedParcel, ...]
    siblings: tuple[RunLine, ...]  # the facility's other drafts that week: where parcels may go


@dataclass(frozen=True)
class Moved:
    alias: str
    to_code: str
    week_start: date
    emptied: str  # the code of the draft the move left empty (and so removed), or ""


def _week_of(run: Run, tz: ZoneInfo) -> date:
    day = run.window_start.astimezone(tz).date()
    return day - timedelta(days=day.weekday())


async def _draft(uow: UnitOfWork, run_id: int) -> Run:
    run = await uow.runs.get(run_id)
    if run is None:
        raise NotFound()
    if run.status is not RunStatus.DRAFT:
        raise NotAllowed()  # published: volunteers may have seen it
    return run


async def _siblings(uow: UnitOfWork, run: Run, tz: ZoneInfo) -> list[Run]:
    start, end = run_service.week_bounds(_week_of(run, tz), tz)
    return [other for other in await uow.runs.list(statuses=(RunStatus.DRAFT,), start=start, end=end,
                                                    facility_ids=[run.facility_id]) if other.id != run.id]


async def _fits(uow: UnitOfWork, run: Run, adding: list) -> None:
    """RunTooBig unless `run` can take these parcels as well."""
    carried = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
    if (len(carried) + len(adding) > MAX_PARCELS_PER_RUN
            or sum(p.weight_g for p in carried) + sum(p.weight_g for p in adding) > MAX_WEIGHT_G_PER_RUN):
        raise RunTooBig()


async def _room_in_window(uow: UnitOfWork, run: Run) -> None:
    """RunTooBig when the facility's window already has as many runs as the planner allows."""
    same = await uow.runs.list(statuses=(RunStatus.DRAFT, RunStatus.PUBLISHED), start=run.window_start,
                               end=run.window_start + timedelta(seconds=1), facility_ids=[run.facility_id])
    if len(same) >= RUNS_PER_WINDOW:
        raise RunTooBig()


async def draft_view(store: Store, actor, run_id: int, tz: ZoneInfo) -> DraftView:
    require_coordinator(actor)
    async with store.read() as uow:
        run = await _draft(uow, run_id)
        parcels = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
        aliases = await uow.prisoners.aliases({parcel.prisoner_id for parcel in parcels})
        siblings = await _siblings(uow, run, tz)
        lines = {line.id: line for line in await run_service.lines_in(uow, [run, *siblings])}
    return DraftView(
        lines[run.id], _week_of(run, tz),
        tuple(PlannedParcel(p.id, aliases.get(p.prisoner_id, "—"), p.weight_g, p.categories) for p in parcels),
        tuple(lines[sibling.id] for sibling in siblings),
    )


async def move_parcel(store: Store, actor, run_id: int, parcel_id: int, to_run_id: int | None,
                      tz: ZoneInfo) -> Moved:
    """`to_run_id` None: a new draft in the parcel's own window (a split)."""
    require_coordinator(actor)
    async with store.write() as uow:
        run = await _draft(uow, run_id)
        parcels = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
        parcel = next((p for p in parcels if p.id == parcel_id), None)
        if parcel is None:
            raise NotFound()  # moved or dropped meanwhile
        if to_run_id is None:
            if len(parcels) < 2:
                raise NotAllowed()  # splitting a one-parcel run would only rename it
            await _room_in_window(uow, run)
            target = await uow.runs.add_draft(DraftRun(run.facility_id, run.window_start, run.window_end,
                                                       run.places, ()))
        else:
            target = await _draft(uow, to_run_id)
            if target.id not in {sibling.id for sibling in await _siblings(uow, run, tz)}:
                raise NotAllowed()  # another facility or another week
            if parcel.prisoner_id in await uow.runs.prisoners_on([target.id]):
                raise NotAllowed()
            await _fits(uow, target, [parcel])
        await uow.runs.move_parcel(parcel.id, target.id)
        emptied = ""
        if len(parcels) == 1:
            await uow.runs.drop(run.id)  # nothing left on it, so no need reopens
            emptied = run.code
        alias = (await uow.prisoners.aliases({parcel.prisoner_id})).get(parcel.prisoner_id, "—")
        await uow.audit.add("plan.parcel_moved", actor_id=actor.id, subject=f"{run.code} -> {target.code}")
    return Moved(alias, target.code, _week_of(run, tz), emptied)


async def merge(store: Store, actor, run_id: int, into_run_id: int, tz: ZoneInfo) -> tuple[str, str, date]:
    """Every parcel of one draft onto another of the same facility that week; the first is then gone.
    Returns (merged code, kept code, week)."""
    require_coordinator(actor)
    async with store.write() as uow:
        run = await _draft(uow, run_id)
        into = await _draft(uow, into_run_id)
        if into.id not in {sibling.id for sibling in await _siblings(uow, run, tz)}:
            raise NotAllowed()
        parcels = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
        if {parcel.prisoner_id for parcel in parcels} & await uow.runs.prisoners_on([into.id]):
            raise NotAllowed()
        await _fits(uow, into, parcels)
        for parcel in parcels:
            await uow.runs.move_parcel(parcel.id, into.id)
        await uow.runs.drop(run.id)
        await uow.audit.add("plan.runs_merged", actor_id=actor.id, subject=f"{run.code} -> {into.code}")
    return run.code, into.code, _week_of(run, tz)
