"""Members' lifecycle: profile, language, trust, freeze, reinstate, revoke, panic, forget-me, audit view.

Every change is one transaction with its audit entry. Anything Telegram must do afterwards (delete
messages, tell coordinators) is returned to the caller, which does it after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import Area, AssignmentStatus, Member, MemberStatus, Role, TrackedMessage
from bot.i18n import LANGUAGES, N_
from bot.services import run_jobs
from bot.services.errors import LastCoordinator, NotAllowed, NotFound
from storage.repositories import UnitOfWork
from storage.store import Store

MAX_AREA_NAME = 40


@dataclass(frozen=True)
class Cleanup:
    """What the handler must still do in Telegram after the commit."""

    pseudonym: str
    messages: tuple[TrackedMessage, ...] = field(default=(), repr=False)
    released_runs: tuple[int, ...] = ()
    chat_id: int = field(default=0, repr=False)  # the member's chat, read before any erasure: to clear it


@dataclass(frozen=True)
class MemberView:
    member: Member
    area_names: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class AuditLine:
    at: datetime  # UTC; the handler shows it in the configured time zone and the member's language
    action: str
    actor: str
    subject: str = field(repr=False)


async def _target(uow: UnitOfWork, member_id: int) -> Member:
    member = await uow.members.get(member_id)
    if member is None or member.status is MemberStatus.REVOKED:
        raise NotFound()
    return member


async def _guard_last_coordinator(uow: UnitOfWork, member: Member) -> None:
    if member.role is Role.COORDINATOR and member.status is MemberStatus.ACTIVE:
        if await uow.members.count_active_coordinators() <= 1:
            raise LastCoordinator()


async def _release_claims(uow: UnitOfWork, member_id: int) -> tuple[int, ...]:
    """Claims not yet reported go back to the pool, and their reminders and deadlines are cancelled;
    returns the runs that now have a free place again."""
    released = [assignment for assignment in await uow.runs.live_assignments_of_member(member_id)
                if assignment.status is not AssignmentStatus.REPORTED]
    for assignment in released:
        await uow.runs.set_assignment_status(assignment.id, AssignmentStatus.RELEASED)
        await uow.schedule.cancel_ref(assignment.id, run_jobs.ASSIGNMENT_JOBS)
    return tuple(dict.fromkeys(assignment.run_id for assignment in released))


def require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator or actor.status is not MemberStatus.ACTIVE:
        raise NotAllowed()


# Profile and language ------------------------------------------------------------------------------


async def save_profile(store: Store, member: Member, area_ids: tuple[int, ...], weekdays: tuple[int, ...]) -> Member:
    """A volunteer's areas and weekdays; finishing the first profile makes a pending volunteer active."""
    if member.role is not Role.VOLUNTEER:
        raise NotAllowed()
    if not area_ids or not weekdays or any(not 0 <= day <= 6 for day in weekdays):
        raise NotAllowed()
    async with store.write() as uow:
        known = {area.id for area in await uow.areas.list()}
        if not set(area_ids) <= known:
            raise NotFound()
        await uow.members.set_profile(member.id, area_ids, weekdays)
        if member.status is MemberStatus.PENDING:
            await uow.members.set_status(member.id, MemberStatus.ACTIVE)
            await uow.audit.add("member.activated", actor_id=member.id, subject=member.pseudonym)
        return await uow.members.get(member.id)


async def set_language(store: Store, member: Member, language: str) -> None:
    if language not in LANGUAGES:
        raise NotFound()
    async with store.write() as uow:
        await uow.members.set_language(member.id, language)


# Areas ----------------------------------------------------------------------------------------------


async def list_areas(store: Store) -> list[Area]:
    async with store.read() as uow:
        return await uow.areas.list()


async def add_area(store: Store, actor: Member, name: str) -> Area:
    require_coordinator(actor)
    name = " ".join(name.split())
    if not 2 <= len(name) <= MAX_AREA_NAME:
        raise ValueError("area name length")
    async with store.write() as uow:
        existing = await uow.areas.by_name(name)
        if existing is not None:
            return existing
        area = await uow.areas.add(name)
        await uow.audit.add("area.added", actor_id=actor.id, subject=name)
        return area


# Coordinators' view ---------------------------------------------------------------------------------


async def member_views(store: Store, actor: Member) -> list[MemberView]:
    require_coordinator(actor)
    async with store.read() as uow:
        names = {area.id: area.name for area in await uow.areas.list()}
        members = await uow.members.list(
            statuses=(MemberStatus.PENDING, MemberStatus.ACTIVE, MemberStatus.FROZEN)
        )
    order = {Role.VOLUNTEER: 0, Role.FAMILY: 1, Role.COORDINATOR: 2}
    members.sort(key=lambda m: (order[m.role], m.pseudonym.casefold()))
    return [MemberView(m, tuple(names[i] for i in m.area_ids if i in names)) for m in members]


async def member_view(store: Store, actor: Member, member_id: int) -> MemberView:
    require_coordinator(actor)
    async with store.read() as uow:
        member = await _target(uow, member_id)
        names = {area.id: area.name for area in await uow.areas.list()}
    return MemberView(member, tuple(names[i] for i in member.area_ids if i in names))


async def audit_lines(store: Store, actor: Member, limit: int = 30) -> list[AuditLine]:
    """Recent audit entries with actors shown by pseudonym (or "former member" once erased)."""
    require_coordinator(actor)
    async with store.read() as uow:
        entries = await uow.audit.recent(limit)
        actors = await uow.members.many({entry.actor_id for entry in entries if entry.actor_id is not None})
        pseudonyms = {member_id: member.pseudonym for member_id, member in actors.items()}
    return [
        AuditLine(
            at=entry.at,
            action=entry.action,
            actor=pseudonyms.get(entry.actor_id, "") if entry.actor_id is not None else N_("operator"),
            subject=entry.subject,
        )
        for entry in entries
    ]


# Status changes -------------------------------------------------------------------------------------


async def trust(store: Store, actor: Member, member_id: int) -> Member:
    require_coordinator(actor)
    async with store.write() as uow:
        target = await _target(uow, member_id)
        if target.role is not Role.VOLUNTEER:
            raise NotAllowed()
        await uow.members.set_trusted(member_id, True)
        await uow.audit.add("member.trusted", actor_id=actor.id, subject=target.pseudonym)
        return await uow.members.get(member_id)


async def freeze(store: Store, actor: Member | None, member_id: int, reason: str) -> Cleanup:
    """Suspend access; claims return to the pool. `actor` None means the bot itself (missed check-in)."""
    if actor is not None:
        require_coordinator(actor)
    async with store.write() as uow:
        return await freeze_in(uow, actor, member_id, reason)


async def freeze_in(uow: UnitOfWork, actor: Member | None, member_id: int, reason: str) -> Cleanup:
    """The same inside a caller's transaction (the missed check-in job freezes with its own row).

    The member's tracked messages (details of runs) are returned for deletion: whoever holds a frozen
    member's phone must not find them in the chat."""
    target = await _target(uow, member_id)
    if target.status is MemberStatus.FROZEN:
        return Cleanup(target.pseudonym)
    await _guard_last_coordinator(uow, target)
    messages = tuple(await uow.messages.for_member(member_id))
    await uow.members.set_status(member_id, MemberStatus.FROZEN)
    released = await _release_claims(uow, member_id)
    await uow.tokens.revoke_member(member_id)
    await uow.conversations.clear(member_id)
    await uow.audit.add(f"member.frozen.{reason}", actor_id=actor.id if actor else None, subject=target.pseudonym)
    return Cleanup(target.pseudonym, messages, released, target.chat_id)


async def reinstate(store: Store, actor: Member, member_id: int) -> Member:
    require_coordinator(actor)
    async with store.write() as uow:
        target = await _target(uow, member_id)
        if target.status is not MemberStatus.FROZEN:
            return target
        await uow.members.set_status(member_id, MemberStatus.ACTIVE)
        await uow.members.set_unreachable(member_id, False)
        await uow.audit.add("member.reinstated", actor_id=actor.id, subject=target.pseudonym)
        return await uow.members.get(member_id)


async def revoke(store: Store, actor: Member, member_id: int) -> Cleanup:
    """Remove a member: buttons, claims, conversation and personal fields go; a bare row keeps the counts.

    The tracked messages are returned (with their chat ids, read before erasure) for the caller to delete.
    """
    require_coordinator(actor)
    async with store.write() as uow:
        target = await _target(uow, member_id)
        await _guard_last_coordinator(uow, target)
        messages = tuple(await uow.messages.for_member(member_id))
        released = await _release_claims(uow, member_id)
        await uow.tokens.revoke_member(member_id)
        await uow.conversations.clear(member_id)
        await uow.members.revoke(member_id)
        await uow.audit.add("member.revoked", actor_id=actor.id, subject=target.pseudonym)
    return Cleanup(target.pseudonym, messages, released, target.chat_id)


async def panic(store: Store, member: Member) -> tuple[Cleanup, bool]:
    """The member's own emergency: their tracked messages to delete, and freeze unless they are the last
    active coordinator (then the bot must stay manageable). Returns (cleanup, frozen)."""
    async with store.write() as uow:
        target = await _target(uow, member.id)
        messages = tuple(await uow.messages.for_member(member.id))
        frozen = True
        try:
            await _guard_last_coordinator(uow, target)
        except LastCoordinator:
            frozen = False
        released: tuple[int, ...] = ()
        if frozen:
            await uow.members.set_status(member.id, MemberStatus.FROZEN)
            released = await _release_claims(uow, member.id)
        await uow.tokens.revoke_member(member.id)
        await uow.conversations.clear(member.id)
        await uow.audit.add("member.panic", actor_id=member.id, subject=target.pseudonym)
    return Cleanup(target.pseudonym, messages, released, target.chat_id), frozen


async def forget(store: Store, member: Member) -> Cleanup:
    """Erase the member entirely: rows, sealed values, requests, audit entries they made. A count stays."""
    async with store.write() as uow:
        target = await _target(uow, member.id)
        await _guard_last_coordinator(uow, target)
        messages = tuple(await uow.messages.for_member(member.id))
        released = await _release_claims(uow, member.id)
        await uow.requests.erase_member(member.id)
        await uow.audit.erase_actor(member.id)
        await uow.tokens.revoke_member(member.id)  # the live ones too; the erase would cascade to the rest
        await uow.messages.outlive_member(member.id)  # deleted from the chat even if Telegram fails at first
        await uow.members.erase(member.id)  # cascades: conversation, assignments
        await uow.members.count_event("forgotten")
    return Cleanup(target.pseudonym, messages, released)

