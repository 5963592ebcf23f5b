"""Example data for `parcelbot sandbox`: a facility list, a few invented prisoners with needs, and the people
the operator plays.

Everything goes through the real services (the facilities import, prisoners, needs, profiles, trust) and the
people register with real invites sent as "/start CODE" through the emulator, so they are real members and
the bot treats them exactly as it would in Telegram. All names are invented.
"""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.domain import Member, NeedCategory, PrisonerStatus, Role, Urgency
from bot.services import membership, needs, onboarding, prisoners
from bot.services.facilities import import_facilities, parse_import
from storage.store import Store

EXAMPLE_FACILITIES = Path("examples") / "facilities.toml"

# Used only when examples/facilities.toml is not beside the package or in the current directory
# (an install from a wheel): two facilities, one per area, so a week can still be walked through.
BUILT_IN_FACILITIES: dict[str, Any] = {
    "facility": [
        {"name": "SIZO-1 Minsk (example)", "kind": "sizo", "area": "Minsk", "address": "Minsk, example street 1",
         "places": 1, "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-13:00"}],
         "kg_per_month": 30, "verify_locally": True},
        {"name": "IK-4 Gomel (example)", "kind": "colony", "area": "Gomel", "address": "Gomel, example street 3",
         "places": 2, "windows": [{"days": ["tue", "thu"], "hours": "09:00-13:00"}],
         "parcels_per_year_by_regime": {"general": 6, "strict": 4}, "verify_locally": True},
    ]
}


@dataclass(frozen=True)
class SeedPerson:
    """Someone the operator can play: `key` is what `/as` takes; `user_id` doubles as the private chat id."""

    key: str
    role: Role
    user_id: int
    first_name: str
    areas: tuple[str, ...] = ()  # volunteers: area names from the facility list
    weekdays: tuple[int, ...] = ()  # volunteers: 0 = Monday
    trusted: bool = False


PEOPLE = (
    SeedPerson("coordinator", Role.COORDINATOR, 7_100_001, "Рагнеда"),
    # Volunteer 1 is trusted (claims are confirmed at once) and covers every handover day of the example list;
    # volunteers 2 and 3 are new, so a coordinator approves their first claims.
    SeedPerson("volunteer 1", Role.VOLUNTEER, 7_100_011, "Алесь", ("Minsk", "Gomel", "Gomel region"),
               (0, 1, 2, 3, 4, 5), trusted=True),
    SeedPerson("volunteer 2", Role.VOLUNTEER, 7_100_012, "Zofia", ("Minsk",), (1, 3, 5)),
    SeedPerson("volunteer 3", Role.VOLUNTEER, 7_100_013, "Міхась", ("Gomel", "Gomel region"), (1, 2, 3)),
    SeedPerson("family", Role.FAMILY, 7_100_021, "Ганна"),
)


@dataclass(frozen=True)
class SeedNeed:
    category: NeedCategory
    weight_g: int
    details: str = ""
    urgent: bool = False


@dataclass(frozen=True)
class SeedPrisoner:
    full_name: str
    birth_year: int
    facility: str  # the start of a facility name in both the example and the built-in list
    status: PrisonerStatus
    regime: str
    needs: tuple[SeedNeed, ...]


PRISONERS = (
    SeedPrisoner("Юрась Зорны-Прыклад", 1984, "SIZO-1", PrisonerStatus.PRE_TRIAL, "", (
        SeedNeed(NeedCategory.FOOD, 3000, "гречка, сухафрукты, гарбата"),
        SeedNeed(NeedCategory.HYGIENE, 500, "зубная паста, мыла", urgent=True),
    )),
    SeedPrisoner("Lukas Birchfield-Example", 1991, "SIZO-1", PrisonerStatus.PRE_TRIAL, "", (
        SeedNeed(NeedCategory.VITAMINS, 200, "vitamin D, 60 tablets"),
    )),
    SeedPrisoner("Ганна Ліпеньская-Узор", 1979, "IK-4", PrisonerStatus.SENTENCED, "general", (
        SeedNeed(NeedCategory.FOOD, 4000, "кава, цукар, печыва"),
        SeedNeed(NeedCategory.CLOTHES, 1500, "warm socks, size 38"),
    )),
)

Send = Callable[[SeedPerson, str], Awaitable[Any]]


def facility_document(explicit: Path | None = None) -> tuple[dict[str, Any], str]:
    """The facility list to import and where it came from: the given file, the project's example, or built-in."""
    if explicit is not None:
        return tomllib.loads(explicit.read_text(encoding="utf-8")), str(explicit)
    for candidate in (Path(__file__).resolve().parents[1] / EXAMPLE_FACILITIES, Path.cwd() / EXAMPLE_FACILITIES):
        if candidate.is_file():
            return tomllib.loads(candidate.read_text(encoding="utf-8")), str(EXAMPLE_FACILITIES)
    return BUILT_IN_FACILITIES, "a built-in list (examples/facilities.toml not found)"


async def register(store: Store, send: Send, person: SeedPerson) -> Member:
    """A real invite, redeemed by the person's own "/start CODE" through the emulator."""
    invite = await onboarding.create_invite(store, person.role, hours=1, created_by=None)
    await send(person, "/start " + invite.code)
    async with store.read() as uow:
        member = await uow.members.by_telegram(person.user_id)
    if member is None:
        raise RuntimeError(f"sandbox: {person.key} could not register")
    return member


async def seed(store: Store, send: Send, today: date, facilities: dict[str, Any]) -> dict[str, Member]:
    """Register everyone, import the facilities, set the volunteers' profiles, add prisoners and their needs."""
    members = {person.key: await register(store, send, person) for person in PEOPLE}
    coordinator = members["coordinator"]
    await import_facilities(store, parse_import(facilities), today)
    async with store.read() as uow:
        area_ids = {area.name: area.id for area in await uow.areas.list()}
        facilities_now = await uow.facilities.list(on=today)
    for person in PEOPLE:
        if person.role is not Role.VOLUNTEER:
            continue
        chosen = tuple(area_ids[name] for name in person.areas if name in area_ids) or tuple(area_ids.values())
        member = await membership.save_profile(store, members[person.key], chosen, person.weekdays)
        if person.trusted:
            member = await membership.trust(store, coordinator, member.id)
        members[person.key] = member
    for entry in PRISONERS:
        facility_id = next(f.id for f in facilities_now if f.name.startswith(entry.facility))
        prisoner = await prisoners.add_prisoner(
            store, coordinator, full_name=entry.full_name, birth_year=entry.birth_year, facility_id=facility_id,
            status=entry.status, regime=entry.regime,
        )
        for need in entry.needs:
            await needs.post_need(store, coordinator, prisoner_id=prisoner.id, category=need.category,
                                  weight_g=need.weight_g, details=need.details, today=today,
                                  urgency=Urgency.URGENT if need.urgent else Urgency.NORMAL)
    return members
