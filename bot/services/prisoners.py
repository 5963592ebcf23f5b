"""Prisoners: add, edit, list, search, the audited single view, transfer, release, allowances, "not reached".

Lists show aliases only; the full name leaves this module only in `prisoner_card`, which records who
looked in the audit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain import Allowance, Facility, Need, NeedStatus, Prisoner, PrisonerStatus, Transfer
from bot.services import inputs, pseudonyms
from bot.services.errors import NotFound
from bot.services.facilities import require_coordinator
from bot.services.ledger import DeliveredParcel, allowance_for
from storage.repositories import UnitOfWork
from storage.store import Store

MAX_REGIME = 30
NOT_REACHED_WEEKS = 4
LIVE = (PrisonerStatus.PRE_TRIAL, PrisonerStatus.SENTENCED, PrisonerStatus.TRANSFERRED)


@dataclass(frozen=True)
class PrisonerCard:
    """A coordinator's view of one prisoner: the only place the full name is shown."""

    prisoner: Prisoner
    facility: Facility | None
    allowance: Allowance
    needs: tuple[Need, ...] = field(default=(), repr=False)
    transfers: tuple[Transfer, ...] = ()


@dataclass(frozen=True)
class Waiting:
    prisoner: Prisoner
    waiting_since: date  # the last parcel, or the earliest open need when never reached
    never_reached: bool


def regime(text: str) -> str:
    if inputs.is_none(text):
        return ""
    return inputs.text_field(text, low=2, high=MAX_REGIME, message="Please send the regime in {low} to {high} "
                             "characters, e.g. general or strict.").casefold()


async def _new_alias(uow: UnitOfWork) -> str:
    for _ in range(50):
        alias = pseudonyms.prisoner_alias()
        if not await uow.prisoners.alias_taken(alias):
            return alias
    raise RuntimeError("no free prisoner alias")  # 32*900 aliases; reaching this means the list is huge


async def create(uow: UnitOfWork, actor_id: int, *, full_name: str, birth_year: int, facility_id: int | None,
                 status: PrisonerStatus = PrisonerStatus.PRE_TRIAL, regime: str = "", notes: str = "") -> Prisoner:
    """Inside a caller's transaction (also used when a family request becomes a prisoner)."""
    if facility_id is not None and await uow.facilities.get(facility_id) is None:
        raise NotFound()
    prisoner = await uow.prisoners.add(alias=await _new_alias(uow), full_name=full_name, birth_year=birth_year,
                                       facility_id=facility_id, status=status, regime=regime, notes=notes)
    await uow.audit.add("prisoner.added", actor_id=actor_id, subject=prisoner.alias)
    return prisoner


async def add_prisoner(store: Store, actor, *, full_name: str, birth_year: int, facility_id: int | None,
                       status: PrisonerStatus = PrisonerStatus.PRE_TRIAL, regime: str = "",
                       notes: str = "") -> Prisoner:
    require_coordinator(actor)
    async with store.write() as uow:
        return await create(uow, actor.id, full_name=full_name, birth_year=birth_year, facility_id=facility_id,
                            status=status, regime=regime, notes=notes)


async def _get(uow: UnitOfWork, prisoner_id: int) -> Prisoner:
    prisoner = await uow.prisoners.get(prisoner_id)
    if prisoner is None:
        raise NotFound()
    return prisoner


async def update_prisoner(store: Store, actor, prisoner_id: int, **changes) -> Prisoner:
    """Change full_name, birth_year, status, regime, suspended_until or notes (already validated values)."""
    require_coordinator(actor)
    allowed = {"full_name", "birth_year", "status", "regime", "suspended_until", "notes"}
    if not set(changes) <= allowed:
        raise ValueError("unknown prisoner field")
    async with store.write() as uow:
        prisoner = dataclasses.replace(await _get(uow, prisoner_id), **changes)
        await uow.prisoners.update(prisoner)
        await uow.audit.add("prisoner.edited", actor_id=actor.id, subject=prisoner.alias)
        return prisoner


async def prisoner_card(store: Store, actor, prisoner_id: int, today: date) -> PrisonerCard:
    require_coordinator(actor)
    async with store.write() as uow:
        prisoner = await _get(uow, prisoner_id)
        await uow.audit.add("prisoner.viewed", actor_id=actor.id, subject=prisoner.alias)
        facility = await uow.facilities.get(prisoner.facility_id, today) if prisoner.facility_id else None
        allowance = (await allowances(uow, [prisoner_id], today))[prisoner_id]
        needs = await uow.needs.list(status=(NeedStatus.OPEN, NeedStatus.PLANNED), prisoner_id=prisoner_id)
        moves = tuple(await uow.prisoners.transfers(prisoner_id))
        return PrisonerCard(prisoner, facility, allowance, tuple(needs), moves)


async def list_prisoners(store: Store, actor, *, facility_id: int | None = None,
                         statuses: Collection[PrisonerStatus] = LIVE) -> list[Prisoner]:
    require_coordinator(actor)
    async with store.read() as uow:
        return await uow.prisoners.list(facility_id=facility_id, statuses=statuses)


async def search(store: Store, actor, text: str, *, by_name: bool = False, limit: int = 10) -> list[Prisoner]:
    """An exact alias first; otherwise a part of an alias (or of the full name, where asked) matches."""
    require_coordinator(actor)
    needle = inputs.squeeze(text).casefold()
    if not 2 <= len(needle) <= inputs.MAX_NAME:
        raise inputs.InputError("Please send at least {low} characters to search for.", low=2)
    async with store.read() as uow:
        exact = await uow.prisoners.search_alias(needle)
        if exact is not None:
            return [exact]
        every = await uow.prisoners.list()
    found = [p for p in every if needle in p.alias.casefold() or (by_name and needle in p.full_name.casefold())]
    return found[:limit]


async def transfer(store: Store, actor, prisoner_id: int, to_facility_id: int, today: date) -> Prisoner:
    """Move to another facility; history stays in `transfers`, needs follow the person."""
    require_coordinator(actor)
    async with store.write() as uow:
        prisoner = await _get(uow, prisoner_id)
        if await uow.facilities.get(to_facility_id) is None:
            raise NotFound()
        if prisoner.facility_id != to_facility_id:
            await uow.prisoners.transfer(prisoner_id, to_facility_id, today)
        await uow.audit.add("prisoner.transferred", actor_id=actor.id, subject=prisoner.alias)
        return await uow.prisoners.get(prisoner_id)


async def release(store: Store, actor, prisoner_id: int) -> int:
    """Released: open and planned needs are cancelled and draft plans drop this person's parcels.

    Returns how many needs were closed. Published runs are left to their coordinator: a volunteer may
    already hold the details, and the run's own outcome report will record what happened.
    """
    require_coordinator(actor)
    async with store.write() as uow:
        prisoner = await _get(uow, prisoner_id)
        await uow.prisoners.set_status(prisoner_id, PrisonerStatus.RELEASED)
        closed = await uow.needs.close_for_prisoner(prisoner_id)
        await uow.runs.drop_draft_parcels_of(prisoner_id)
        await uow.audit.add("prisoner.released", actor_id=actor.id, subject=prisoner.alias)
        return closed


# Allowances ------------------------------------------------------------------------------------------


async def allowances(uow: UnitOfWork, prisoner_ids: Collection[int], on: date,
                     known: Mapping[int, Prisoner] | None = None) -> dict[int, Allowance]:
    """Allowances for many prisoners in three queries, whatever their number (the planner asks for all).

    `known`: prisoners the caller already read in this transaction, so they are not opened twice."""
    ids = list(dict.fromkeys(prisoner_ids))
    if not ids:
        return {}
    if known is not None and all(prisoner_id in known for prisoner_id in ids):
        prisoners = {prisoner_id: known[prisoner_id] for prisoner_id in ids}
    else:
        prisoners = await uow.prisoners.many(ids)
    histories = await uow.facilities.rules_histories(
        sorted({p.facility_id for p in prisoners.values() if p.facility_id is not None}))
    delivered: dict[int, list[DeliveredParcel]] = {}
    for prisoner_id, day, grams, categories in await uow.prisoners.delivered_since(ids, date(on.year, 1, 1)):
        delivered.setdefault(prisoner_id, []).append(DeliveredParcel(day, grams, categories))
    return {
        prisoner_id: allowance_for(histories.get(prisoner.facility_id, []), prisoner,
                                   delivered.get(prisoner_id, []), on)
        for prisoner_id, prisoner in prisoners.items()
    }


async def allowance(store: Store, prisoner_id: int, on: date) -> Allowance:
    async with store.read() as uow:
        found = await allowances(uow, [prisoner_id], on)
    if prisoner_id not in found:
        raise NotFound()
    return found[prisoner_id]


async def not_reached(store: Store, actor, today: date, weeks: int = NOT_REACHED_WEEKS) -> list[Waiting]:
    """Prisoners with open needs and no parcel for `weeks`: never reached first, then longest waiting."""
    require_coordinator(actor)
    cutoff = today - timedelta(weeks=weeks)
    async with store.read() as uow:
        needs = await uow.needs.list(status=NeedStatus.OPEN)
        earliest: dict[int, date] = {}
        for need in needs:
            day = need.created_at.date()
            earliest[need.prisoner_id] = min(day, earliest.get(need.prisoner_id, day))
        prisoners = await uow.prisoners.many(earliest)
    waiting = []
    for prisoner in prisoners.values():
        if prisoner.status is PrisonerStatus.RELEASED:
            continue
        if prisoner.last_parcel_on is None:
            waiting.append(Waiting(prisoner, earliest[prisoner.id], True))
        elif prisoner.last_parcel_on < cutoff:
            waiting.append(Waiting(prisoner, prisoner.last_parcel_on, False))
    return sorted(waiting, key=lambda w: (not w.never_reached, w.waiting_since, w.prisoner.alias))
