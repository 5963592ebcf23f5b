"""After the window: the volunteer reports each parcel, and the report is the safety check-in.

Recording a parcel updates its needs, the allowance ledger (delivered_on), the prisoner's last parcel
date and the facility's refusal log in one transaction. When every parcel is reported the run is closed
(done, or failed when nothing went in) and the caller deletes its details messages. Families linked to
the prisoner by a request are returned, to be told neutrally that a parcel was handed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain import (
    AssignmentStatus,
    Member,
    MemberStatus,
    NeedStatus,
    ParcelOutcome,
    RefusalReason,
    RequestStatus,
    Role,
    RunStatus,
    TrackedMessage,
    carries_goods,
)
from bot.services import claims, membership, run_jobs
from bot.services.errors import NotFound
from storage.repositories import UnitOfWork
from storage.store import Store

REPORTABLE = (AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED)
CHECKABLE = (AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED, AssignmentStatus.REPORTED, AssignmentStatus.MISSED)
WENT_IN = (ParcelOutcome.DELIVERED, ParcelOutcome.PARTLY)
MAX_NOTE = 300


class AlreadyReported(NotFound):
    """This parcel already has an outcome; a second report changes nothing."""


@dataclass(frozen=True)
class ParcelLine:
    parcel_id: int
    alias: str
    outcome: ParcelOutcome | None


@dataclass(frozen=True)
class ReportView:
    assignment_id: int
    code: str
    parcels: tuple[ParcelLine, ...]


@dataclass(frozen=True)
class Recorded:
    code: str
    run_id: int
    run_closed: bool
    handed_in_on: date | None
    families: tuple[Member, ...] = field(default=(), repr=False)


async def report_view(store: Store, member_id: int, assignment_id: int) -> ReportView:
    """The parcels to report, by alias (never a name in a button), once the window has started."""
    async with store.read() as uow:
        assignment, run = await claims.own_assignment(uow, member_id, assignment_id, REPORTABLE)
        if run.status is not RunStatus.PUBLISHED or uow.clock.now() < run.window_start:
            raise NotFound()
        parcels = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
        aliases = await uow.prisoners.aliases([parcel.prisoner_id for parcel in parcels])
    return ReportView(assignment.id, run.code, tuple(
        ParcelLine(parcel.id, aliases.get(parcel.prisoner_id, "—"),
                   parcel.outcome)
        for parcel in parcels
    ))


async def record(store: Store, member_id: int, assignment_id: int, parcel_id: int, outcome: ParcelOutcome, *,
                 today: date, reason: str = "", note: str = "") -> Recorded:
    """One parcel's outcome; the last one closes the run and counts as the reporter's check-in."""
    if outcome is ParcelOutcome.REFUSED and reason not in {item.value for item in RefusalReason}:
        raise NotFound()
    note = note.strip()[:MAX_NOTE] if outcome is ParcelOutcome.REFUSED else ""
    async with store.write() as uow:
        assignment, run = await claims.own_assignment(uow, member_id, assignment_id, REPORTABLE)
        if run.status is not RunStatus.PUBLISHED or uow.clock.now() < run.window_start:
            raise NotFound()
        parcels = {parcel.id: parcel for parcel in await uow.runs.parcels_of(run.id, opened=False)}
        parcel = parcels.get(parcel_id)
        if parcel is None:
            raise NotFound()
        if parcel.outcome is not None:
            raise AlreadyReported()
        went_in = outcome in WENT_IN
        await uow.runs.record_outcome(parcel_id, outcome, reason if outcome is ParcelOutcome.REFUSED else "", note,
                                      delivered_on=today if went_in else None)
        # A delivered parcel fulfils its needs; otherwise they are open again for a later week (a partly
        # delivered parcel keeps them open too: the volunteer cannot say here which item went in).
        fulfilled = outcome is ParcelOutcome.DELIVERED
        await uow.needs.set_status(parcel.need_ids, NeedStatus.FULFILLED if fulfilled else NeedStatus.OPEN)
        families: list[Member] = []
        if went_in:
            if carries_goods(parcel.categories):  # money paid in is not a parcel: the wait for one goes on
                await uow.prisoners.set_last_parcel_on(parcel.prisoner_id, today)
            families = await _families(uow, parcel.prisoner_id)
        if outcome is ParcelOutcome.REFUSED:
            await uow.facilities.add_refusal(run.facility_id, today, reason, note)
        await uow.audit.add("parcel.reported", actor_id=member_id, subject=f"{run.code} {outcome.value}")
        outcomes = [outcome if other.id == parcel_id else other.outcome for other in parcels.values()]
        closed = all(item is not None for item in outcomes)
        if closed:
            delivered_any = any(item in WENT_IN for item in outcomes)
            await uow.runs.set_assignment_status(assignment.id, AssignmentStatus.REPORTED, only_from=REPORTABLE)
            await uow.runs.set_status(run.id, RunStatus.DONE if delivered_any else RunStatus.FAILED)
            await uow.schedule.cancel_ref(run.id, run_jobs.RUN_JOBS)
            if delivered_any:
                await uow.members.count_run_done(member_id)  # what moves a volunteer from trial to trusted
    return Recorded(run.code, run.id, closed, today if went_in else None, tuple(families))


async def _families(uow: UnitOfWork, prisoner_id: int) -> list[Member]:
    """Who hears that a parcel went in: families whose request a coordinator accepted for this prisoner.
    Not a request still waiting, declined or withdrawn: anyone can file one naming any prisoner, and
    the answer must not tell them that the network supplies that person, or when."""
    members: dict[int, Member] = {}
    for request in await uow.requests.for_prisoner(prisoner_id, RequestStatus.ACCEPTED):
        if request.member_id is None or request.member_id in members:
            continue
        member = await uow.members.get(request.member_id)
        if member is not None and member.role is Role.FAMILY and member.status is MemberStatus.ACTIVE:
            members[member.id] = member
    return list(members.values())


async def check_in(store: Store, member_id: int, assignment_id: int) -> str:
    """"I'm safe": the check-in without a report (the report is still expected). Returns the run code."""
    async with store.write() as uow:
        assignment, run = await claims.own_assignment(uow, member_id, assignment_id, CHECKABLE)
        if uow.clock.now() < run.window_start:
            raise NotFound()  # nothing to be safe from yet
        if await uow.runs.check_in(assignment.id):
            await uow.audit.add("run.checked_in", actor_id=member_id, subject=run.code)
        return run.code


async def confirm(store: Store, member_id: int, assignment_id: int) -> str:
    """The volunteer confirms they are going; returns the run code."""
    async with store.write() as uow:
        assignment, run = await claims.own_assignment(uow, member_id, assignment_id, REPORTABLE)
        if run.status is not RunStatus.PUBLISHED or uow.clock.now() >= run.window_end:
            raise NotFound()
        if assignment.status is AssignmentStatus.CLAIMED:
            await uow.runs.set_assignment_status(assignment.id, AssignmentStatus.CONFIRMED,
                                                 only_from=(AssignmentStatus.CLAIMED,))
            await uow.audit.add("run.confirmed", actor_id=member_id, subject=run.code)
        return run.code


# The bot's side of safety: what the check-in deadline does ------------------------------------------


@dataclass(frozen=True)
class MissedCheckin:
    pseudonym: str
    code: str
    messages: tuple[TrackedMessage, ...] = field(default=(), repr=False)
    chat_id: int | None = field(default=None, repr=False)  # to reset the frozen member's command menu


async def missed_checkin_in(uow: UnitOfWork, assignment_id: int, second_alert_hours: int) -> MissedCheckin | None:
    """No check-in by the deadline: the place is marked missed and the volunteer frozen, so whoever holds the
    phone learns nothing more; their tracked messages are returned for deletion. None when they checked in."""
    assignment = await uow.runs.get_assignment(assignment_id)
    if assignment is None or assignment.checked_in_at is not None or assignment.status not in REPORTABLE:
        return None
    run = await uow.runs.get(assignment.run_id)
    member = await uow.members.get(assignment.member_id)
    if run is None or member is None:
        return None
    await uow.runs.set_assignment_status(assignment.id, AssignmentStatus.MISSED, only_from=REPORTABLE)
    await uow.members.count_missed_checkin(member.id)
    messages = tuple(await uow.messages.for_member(member.id))
    await membership.freeze_in(uow, None, member.id, "missed_checkin")
    await uow.schedule.put(run_jobs.SECOND_ALERT, assignment.id,
                           uow.clock.now() + timedelta(hours=second_alert_hours))
    return MissedCheckin(member.pseudonym, run.code, messages, member.chat_id)


async def still_missing_in(uow: UnitOfWork, assignment_id: int) -> MissedCheckin | None:
    """The second alert: still no check-in and still frozen (a coordinator who reinstated them heard from them)."""
    assignment = await uow.runs.get_assignment(assignment_id)
    if assignment is None or assignment.checked_in_at is not None or assignment.status is not AssignmentStatus.MISSED:
        return None
    run = await uow.runs.get(assignment.run_id)
    member = await uow.members.get(assignment.member_id)
    if run is None or member is None or member.status is not MemberStatus.FROZEN:
        return None
    return MissedCheckin(member.pseudonym, run.code)
