"""Claiming a place on a run: one IMMEDIATE transaction that checks and takes the place together.

The store's write() is BEGIN IMMEDIATE under the process-wide database lock, so counting the live
assignments and inserting the new one cannot interleave with another claim: fifty volunteers
pressing "claim" on a two-place run at once yield exactly two places taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain import Assignment, AssignmentStatus, Member, MemberStatus, Role, RunStatus
from bot.services import run_jobs
from bot.services.errors import AlreadyClaimed, ClaimCapReached, NotAllowed, NotFound, RunFull, RunNotOpen
from storage.repositories import UnitOfWork
from storage.store import Store

LATE_RELEASE = timedelta(hours=24)  # a place given back this close to the window needs a coordinator's eye


async def claim(store: Store, run_id: int, member_id: int, *, cap: int, trial: bool,
                grace_hours: int = run_jobs.DEFAULT_GRACE_HOURS) -> Assignment:
    """Take a place on a published, future run. Trial volunteers wait for a coordinator's approval."""
    async with store.write() as uow:
        now = uow.clock.now()
        run = await uow.runs.get(run_id)
        if run is None or run.status is not RunStatus.PUBLISHED or run.window_start <= now:
            raise RunNotOpen()
        member = await uow.members.get(member_id)
        if member is None or member.role is not Role.VOLUNTEER or member.status is not MemberStatus.ACTIVE:
            raise NotAllowed()
        live = await uow.runs.live_assignments_of_member(member_id)
        if any(assignment.run_id == run_id for assignment in live):
            raise AlreadyClaimed()
        if len(live) >= cap:
            raise ClaimCapReached()
        if await uow.runs.live_count(run_id) >= run.places:
            raise RunFull()
        status = AssignmentStatus.AWAITING_APPROVAL if trial else AssignmentStatus.CLAIMED
        assignment = await uow.runs.add_assignment(run_id, member_id, status)
        if not trial:  # a trial claim gets its reminders and deadlines when it is approved
            await run_jobs.book_assignment(uow, run, assignment.id, grace_hours=grace_hours)
        await uow.audit.add("run.claimed", actor_id=member_id, subject=run.code)
        return assignment


@dataclass(frozen=True)
class Released:
    run_id: int
    code: str
    late: bool  # within LATE_RELEASE of the window: coordinators are told, the run offered again
    partners: tuple[Member, ...]  # active volunteers still holding a place on it: they are told


async def release(store: Store, assignment_id: int, member_id: int) -> Released:
    """Give one's own place back before the run."""
    async with store.write() as uow:
        assignment = await uow.runs.get_assignment(assignment_id)
        if assignment is None or assignment.member_id != member_id:
            raise NotFound()
        run = await uow.runs.get(assignment.run_id)
        now = uow.clock.now()
        if run is None or run.window_start <= now:
            raise RunNotOpen()  # after the window starts the volunteer reports instead
        released = await uow.runs.set_assignment_status(
            assignment_id, AssignmentStatus.RELEASED,
            only_from=(AssignmentStatus.AWAITING_APPROVAL, AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED),
        )
        if not released:
            raise NotFound()
        await uow.schedule.cancel_ref(assignment_id, ASSIGNMENT_JOBS)
        await uow.audit.add("run.released", actor_id=member_id, subject=run.code)
        late = run.window_start - now <= LATE_RELEASE
        if late:
            await run_jobs.book_reannounce(uow, run)
        holders = [a.member_id for a in await uow.runs.assignments_of(run.id, live_only=True)
                   if a.status in (AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED)]
        members = await uow.members.many(holders)
        partners = tuple(m for m in members.values() if m.role is Role.VOLUNTEER and m.status is MemberStatus.ACTIVE)
        return Released(run.id, run.code, late, partners)


# Scheduled work keyed by an assignment id; released or rejected assignments drop theirs.
ASSIGNMENT_JOBS: tuple[str, ...] = run_jobs.ASSIGNMENT_JOBS


async def _decide(store: Store, assignment_id: int, coordinator_id: int, to: AssignmentStatus,
                  action: str, grace_hours: int = run_jobs.DEFAULT_GRACE_HOURS) -> Assignment:
    async with store.write() as uow:
        coordinator = await uow.members.get(coordinator_id)
        if coordinator is None or not coordinator.is_coordinator or coordinator.status is not MemberStatus.ACTIVE:
            raise NotAllowed()
        assignment = await uow.runs.get_assignment(assignment_id)
        if assignment is None:
            raise NotFound()
        if not await uow.runs.set_assignment_status(assignment_id, to,
                                                    only_from=(AssignmentStatus.AWAITING_APPROVAL,)):
            raise NotFound()  # already decided by another coordinator, or released meanwhile
        run = await uow.runs.get(assignment.run_id)
        if to is AssignmentStatus.RELEASED:
            await uow.schedule.cancel_ref(assignment_id, ASSIGNMENT_JOBS)
        elif run is not None:
            await run_jobs.book_assignment(uow, run, assignment_id, grace_hours=grace_hours)
        await uow.audit.add(action, actor_id=coordinator_id, subject=run.code if run else "")
        return await uow.runs.get_assignment(assignment_id)


async def approve(store: Store, assignment_id: int, coordinator_id: int, *,
                  grace_hours: int = run_jobs.DEFAULT_GRACE_HOURS) -> Assignment:
    """A trial volunteer's claim accepted: the place is theirs and the details may follow."""
    return await _decide(store, assignment_id, coordinator_id, AssignmentStatus.CLAIMED, "run.claim_approved",
                         grace_hours)


async def reject(store: Store, assignment_id: int, coordinator_id: int) -> Assignment:
    """A trial volunteer's claim declined: the place is free again."""
    return await _decide(store, assignment_id, coordinator_id, AssignmentStatus.RELEASED, "run.claim_rejected")


async def own_assignment(uow: UnitOfWork, member_id: int, assignment_id: int, statuses) -> tuple:
    """The (assignment, run) if the member is an active volunteer holding it in one of `statuses`."""
    member = await uow.members.get(member_id)
    if member is None or member.role is not Role.VOLUNTEER or member.status is not MemberStatus.ACTIVE:
        raise NotAllowed()
    assignment = await uow.runs.get_assignment(assignment_id)
    if assignment is None or assignment.member_id != member_id or assignment.status not in statuses:
        raise NotFound()
    run = await uow.runs.get(assignment.run_id)
    if run is None:
        raise NotFound()
    return assignment, run
