"""Needs: post one for a prisoner (with a warning when the allowance cannot take it), list, close,
and the anonymous counts coordinators copy to fundraisers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.domain import Need, NeedCategory, NeedStatus, PrisonerStatus, Urgency
from bot.services import ledger
from bot.services.errors import NotAllowed, NotFound
from bot.services.facilities import require_coordinator
from bot.services.inputs import MAX_DETAILS, MAX_KG, MIN_KG, InputError
from bot.services.prisoners import allowances
from storage.store import Store


@dataclass(frozen=True)
class Posted:
    """The stored need, and when the allowance cannot take it now: why, and from when it can go."""

    need: Need
    refusal: str | None = None
    possible_from: date | None = None


@dataclass(frozen=True)
class NeedLine:
    need: Need
    alias: str = field(repr=False)


async def post_need(store: Store, actor, *, prisoner_id: int, category: NeedCategory, weight_g: int,
                    urgency: Urgency = Urgency.NORMAL, details: str = "", due_on: date | None = None,
                    today: date, request_id: int | None = None) -> Posted:
    require_coordinator(actor)
    if not category.weighed:
        weight_g = 0
    elif not round(MIN_KG * 1000) <= weight_g <= round(MAX_KG * 1000):
        raise InputError("Please send the weight in kg, from 0.1 to 30, e.g. 2.5.")
    if len(details) > MAX_DETAILS:
        raise InputError("Please send up to {high} characters, or - for none.", high=MAX_DETAILS)
    if due_on is not None and due_on < today:
        raise InputError("That date has passed. Please send the date as 25.12 or 25.12.2026")
    async with store.write() as uow:
        prisoner = await uow.prisoners.get(prisoner_id)
        if prisoner is None:
            raise NotFound()
        if prisoner.status is PrisonerStatus.RELEASED:
            raise NotAllowed()
        need = await uow.needs.add(prisoner_id=prisoner_id, category=category, weight_g=weight_g, urgency=urgency,
                                   details=details, due_on=due_on, request_id=request_id)
        allowance = (await allowances(uow, [prisoner_id], today))[prisoner_id]
        await uow.audit.add("need.posted", actor_id=actor.id, subject=f"{prisoner.alias}: {category.value}")
    # Money goes to the prison account, not through the counter: Allowance.refusal applies no parcel limits.
    refusal = allowance.refusal(weight_g, (category.value,))
    return Posted(need, refusal, ledger.possible_from(allowance, refusal) if refusal else None)


async def open_needs(store: Store, actor, limit: int = 60) -> list[NeedLine]:
    """Open and planned needs, urgent first, then by due date; aliases only."""
    require_coordinator(actor)
    async with store.read() as uow:
        needs = await uow.needs.list(status=(NeedStatus.OPEN, NeedStatus.PLANNED))
        aliases = await uow.prisoners.aliases({need.prisoner_id for need in needs})
    needs.sort(key=lambda n: (n.urgency is not Urgency.URGENT, n.due_on or date.max, n.created_at))
    return [NeedLine(need, aliases[need.prisoner_id]) for need in needs[:limit] if need.prisoner_id in aliases]


async def need_line(store: Store, actor, need_id: int) -> NeedLine:
    """One need with its details opened (e.g. how much money), for a coordinator who tapped it."""
    require_coordinator(actor)
    async with store.read() as uow:
        need = await uow.needs.get(need_id)
        if need is None:
            raise NotFound()
        aliases = await uow.prisoners.aliases({need.prisoner_id})
    if need.prisoner_id not in aliases:
        raise NotFound()
    return NeedLine(need, aliases[need.prisoner_id])


async def set_status(store: Store, actor, need_id: int, status: NeedStatus) -> Need:
    require_coordinator(actor)
    async with store.write() as uow:
        need = await uow.needs.get(need_id)
        if need is None:
            raise NotFound()
        await uow.needs.set_status([need_id], status)
        await uow.audit.add(f"need.{status.value}", actor_id=actor.id, subject=need.category.value)
        return await uow.needs.get(need_id)


async def fundraiser_counts(store: Store, actor) -> list[tuple[str, str, int]]:
    """(category, area name or "", count) of open needs: no names, no aliases, nothing per person."""
    require_coordinator(actor)
    async with store.read() as uow:
        counts = await uow.needs.open_counts()
        areas = {area.id: area.name for area in await uow.areas.list()}
    order = [category.value for category in NeedCategory]
    lines = [(category, areas.get(area_id, "") if area_id else "", count) for category, area_id, count in counts]
    return sorted(lines, key=lambda line: (order.index(line[0]) if line[0] in order else 99, line[1].casefold()))
