"""The details of a run, just in time: only to the volunteer who holds the place, each reveal audited.

Names, birth years, the address and the contents leave the database only here, for one assignment that
is claimed or confirmed (a trial claim waits for approval) on a published run. The handler renders
and sends them silently with protect_content, and tracks the message for deletion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import Assignment, AssignmentStatus, FacilityRules, Run, RunStatus, TrackedMessage
from bot.services import claims
from bot.services.errors import DomainError, NotFound
from storage.repositories import UnitOfWork
from storage.store import Store

SHOWN = (AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED)
KEEP_FOR = timedelta(hours=47)  # Telegram lets a bot delete its messages for 48 h; one hour to spare
KIND = "details"
PARTNER_KIND = "partner"  # what partners on a run sent each other (bot/services/partners.py)
# What a run leaves in volunteers' chats and takes away when it closes or a place goes.
RUN_KINDS = (KIND, PARTNER_KIND)


@dataclass(frozen=True)
class ParcelDetails:
    full_name: str = field(repr=False)
    birth_year: int = field(repr=False)
    contents: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class Details:
    assignment_id: int
    run_id: int
    member_id: int
    code: str
    window_start: datetime
    window_end: datetime
    facility_name: str = field(repr=False)
    address: str = field(repr=False)
    rules: FacilityRules = field(repr=False)
    parcels: tuple[ParcelDetails, ...] = field(repr=False)


async def live_place(uow: UnitOfWork, member_id: int, assignment_id: int) -> tuple[Assignment, Run]:
    """The member's own live place on a published run whose window is still open, or NotFound.

    Only until the window closes: afterwards nobody needs the details to hand a parcel in, and a run
    left unreported stays published, so without this they could be fetched again from a seized phone."""
    assignment, run = await claims.own_assignment(uow, member_id, assignment_id, SHOWN)
    if run.status is not RunStatus.PUBLISHED or uow.clock.now() >= run.window_end:
        raise NotFound()
    return assignment, run


async def _gather(uow: UnitOfWork, member_id: int, assignment_id: int) -> Details:
    """Check that the place is the member's and live, and gather the details."""
    assignment, run = await live_place(uow, member_id, assignment_id)
    facility = await uow.facilities.get(run.facility_id)
    if facility is None:
        raise NotFound()
    parcels = await uow.runs.parcels_of(run.id, with_needs=False)
    people = await uow.prisoners.many([parcel.prisoner_id for parcel in parcels])
    shown = tuple(
        ParcelDetails(people[parcel.prisoner_id].full_name, people[parcel.prisoner_id].birth_year,
                      tuple(line for line in parcel.contents if line) or parcel.categories)
        for parcel in parcels if parcel.prisoner_id in people
    )
    return Details(assignment.id, run.id, member_id, run.code, run.window_start, run.window_end, facility.name,
                   facility.address, facility.rules, shown)


async def reveal(store: Store, member_id: int, assignment_id: int) -> Details:
    """The details of the member's own live place, and an audit entry saying they were shown.

    Gathered in a read (no BEGIN/COMMIT hops), then audited in one statement: the message goes out
    only after both, so every details message sent has its audit entry."""
    async with store.read() as uow:
        details = await _gather(uow, member_id, assignment_id)
    async with store.write_one() as uow:
        await uow.audit.add("details.revealed", actor_id=member_id, subject=details.code)
    return details


async def still_shown(store: Store, member_id: int, assignment_id: int) -> bool:
    """Whether the details may still be in the member's chat: the place is theirs, the run on, its
    window open. Checked again once a details message is tracked: a call-off or a give-back that
    committed while the message was on its way cleaned up before it was tracked."""
    async with store.read() as uow:
        try:
            await live_place(uow, member_id, assignment_id)
        except DomainError:
            return False
    return True


async def track(store: Store, details: Details, chat_id: int, message_id: int) -> None:
    """Into the sealed outbox: deleted 47 h after sending, or earlier when the run closes or the place goes."""
    async with store.write_one() as uow:  # one INSERT
        await uow.messages.track(member_id=details.member_id, kind=KIND, chat_id=chat_id, message_id=message_id,
                                 delete_after=uow.clock.now() + KEEP_FOR, run_id=details.run_id)


async def messages_of_run(store: Store, run_id: int, member_id: int | None = None) -> list[TrackedMessage]:
    """The run's messages still in chats, details and partners' (one member's only, when given)."""
    async with store.read() as uow:
        messages = await uow.messages.for_run(run_id)
    return [message for message in messages
            if message.kind in RUN_KINDS and (member_id is None or message.member_id == member_id)]
