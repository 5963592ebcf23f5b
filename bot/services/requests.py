"""Family requests: a family asks, coordinators review (link or create a prisoner, turn into needs, or
decline), the family sees the status only and may withdraw. Closed requests are erased after a while.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.domain import (
    FamilyRequest,
    Member,
    Need,
    NeedCategory,
    Prisoner,
    PrisonerStatus,
    RequestDetails,
    RequestStatus,
    Role,
)
from bot.services import inputs
from bot.services import prisoners as prisoner_service
from bot.services.errors import NotAllowed, NotFound
from bot.services.facilities import require_coordinator
from storage.store import Store

DECLINE_REASONS = ("not_listed", "cannot_verify", "duplicate", "other")
DEFAULT_WEIGHT_G = 1000
MAX_OPEN_PER_FAMILY = 5  # a flood of requests from one account is abuse, not need


@dataclass(frozen=True)
class Review:
    """A waiting request as coordinators see it, with the linked prisoner's alias if any."""

    request: FamilyRequest
    facility_name: str = field(default="", repr=False)
    prisoner_alias: str = ""


@dataclass(frozen=True)
class Change:
    """What the handler tells the family after the commit (neutral text only)."""

    member_id: int | None
    needs: tuple[Need, ...] = ()


def _require_family(member: Member) -> None:
    if member.role is not Role.FAMILY or not member.usable:
        raise NotAllowed()


def validate(details: RequestDetails, today: date) -> RequestDetails:
    """The same limits as the conversation, checked again at the boundary."""
    inputs.full_name(details.full_name)
    inputs.birth_year(str(details.birth_year), today)
    if not details.categories or any(c not in inputs.CATEGORIES for c in details.categories):
        raise inputs.InputError("Please choose at least one kind of help.")
    if len(details.text) > inputs.MAX_DETAILS or len(details.facility_other) > 200:
        raise inputs.InputError("Please send up to {high} characters, or - for none.", high=inputs.MAX_DETAILS)
    if details.facility_id is None and not details.facility_other:
        raise inputs.InputError("Please choose the place with the buttons.")
    return details


async def submit(store: Store, member: Member, details: RequestDetails, today: date) -> FamilyRequest:
    _require_family(member)
    validate(details, today)
    async with store.write() as uow:
        if len(await uow.requests.list(status=RequestStatus.WAITING, member_id=member.id)) >= MAX_OPEN_PER_FAMILY:
            raise NotAllowed()
        if details.facility_id is not None and await uow.facilities.get(details.facility_id) is None:
            raise NotFound()
        request = await uow.requests.add(member.id, details)
        await uow.audit.add("request.submitted", actor_id=member.id)
        return request


async def my_requests(store: Store, member: Member) -> list[FamilyRequest]:
    _require_family(member)
    async with store.read() as uow:
        return await uow.requests.list(member_id=member.id)


async def withdraw(store: Store, member: Member, request_id: int) -> None:
    _require_family(member)
    async with store.write() as uow:
        request = await uow.requests.get(request_id)
        if request is None or request.member_id != member.id:
            raise NotFound()
        if not await uow.requests.close(request_id, RequestStatus.WITHDRAWN):
            raise NotAllowed()
        await uow.audit.add("request.withdrawn", actor_id=member.id)


async def _waiting(uow, request_id: int) -> FamilyRequest:
    request = await uow.requests.get(request_id)
    if request is None:
        raise NotFound()
    if request.status is not RequestStatus.WAITING:
        raise NotAllowed()
    return request


async def shown(store: Store, actor: Member, request: FamilyRequest) -> None:
    """A coordinator is about to see a request's name, birth year and the family's words: audited like a
    prisoner card, naming the request by the day it came (as /requests does), never by a name."""
    async with store.write_one() as uow:
        await uow.audit.add("request.viewed", actor_id=actor.id, subject=f"request of {request.created_at:%d.%m.%Y}")


async def waiting(store: Store, actor: Member, limit: int = 10) -> list[Review]:
    require_coordinator(actor)
    async with store.read() as uow:
        requests = await uow.requests.list(status=RequestStatus.WAITING, limit=limit)
        names = {facility.id: facility.name for facility in await uow.facilities.list()}
        linked = await uow.prisoners.aliases({r.prisoner_id for r in requests if r.prisoner_id is not None})
    return [Review(r, names.get(r.details.facility_id, "") if r.details.facility_id else r.details.facility_other,
                   linked.get(r.prisoner_id, "") if r.prisoner_id is not None else "") for r in requests]


async def review(store: Store, actor: Member, request_id: int) -> Review:
    require_coordinator(actor)
    async with store.read() as uow:
        request = await _waiting(uow, request_id)
        facility = await uow.facilities.get(request.details.facility_id) if request.details.facility_id else None
        prisoner = await uow.prisoners.get(request.prisoner_id) if request.prisoner_id else None
    return Review(request, facility.name if facility else request.details.facility_other,
                  prisoner.alias if prisoner else "")


async def link(store: Store, actor: Member, request_id: int, prisoner_id: int) -> Prisoner:
    require_coordinator(actor)
    async with store.write() as uow:
        await _waiting(uow, request_id)
        prisoner = await uow.prisoners.get(prisoner_id)
        if prisoner is None:
            raise NotFound()
        await uow.requests.link(request_id, prisoner_id)
        await uow.audit.add("request.linked", actor_id=actor.id, subject=prisoner.alias)
        return prisoner


async def create_prisoner(store: Store, actor: Member, request_id: int, facility_id: int | None) -> Prisoner:
    """A new prisoner from the family's details; the facility is the family's choice unless given."""
    require_coordinator(actor)
    async with store.write() as uow:
        request = await _waiting(uow, request_id)
        details = request.details
        prisoner = await prisoner_service.create(
            uow, actor.id, full_name=details.full_name, birth_year=details.birth_year,
            facility_id=facility_id if facility_id is not None else details.facility_id,
            status=PrisonerStatus.PRE_TRIAL,
        )
        await uow.requests.link(request_id, prisoner.id)
        return prisoner


async def accept_as_needs(store: Store, actor: Member, request_id: int, categories: tuple[str, ...],
                          weight_g: int, today: date) -> Change:
    """One need per chosen category for the linked prisoner, each of `weight_g` (money: none); the
    request is accepted."""
    require_coordinator(actor)
    if not categories or any(c not in inputs.CATEGORIES for c in categories):
        raise inputs.InputError("Please choose at least one kind of help.")
    if not round(inputs.MIN_KG * 1000) <= weight_g <= round(inputs.MAX_KG * 1000):
        raise inputs.InputError("Please send the weight in kg, from 0.1 to 30, e.g. 2.5.")
    async with store.write() as uow:
        request = await _waiting(uow, request_id)
        if request.prisoner_id is None or await uow.prisoners.get(request.prisoner_id) is None:
            raise NotFound()
        needs = []
        for category in map(NeedCategory, dict.fromkeys(categories)):
            needs.append(await uow.needs.add(
                prisoner_id=request.prisoner_id, category=category, weight_g=weight_g if category.weighed else 0,
                urgency=request.details.urgency, details=request.details.text[: inputs.MAX_DETAILS],
                request_id=request_id))
        await uow.requests.close(request_id, RequestStatus.ACCEPTED)
        await uow.audit.add("request.accepted", actor_id=actor.id, subject=f"{len(needs)} needs")
        return Change(request.member_id, tuple(needs))


async def decline(store: Store, actor: Member, request_id: int, reason: str) -> Change:
    require_coordinator(actor)
    if reason not in DECLINE_REASONS:
        raise NotAllowed()
    async with store.write() as uow:
        request = await _waiting(uow, request_id)
        await uow.requests.close(request_id, RequestStatus.DECLINED, reason)
        await uow.audit.add("request.declined", actor_id=actor.id, subject=reason)
        return Change(request.member_id)


async def waiting_count(store: Store) -> int:
    async with store.read() as uow:
        return await uow.requests.count(RequestStatus.WAITING)
