"""Facilities: add, edit, list, view with the refusal log, turn a refusal into a rule, import a TOML list.

Rules are kept in versions: an edit that changes them adds a version effective on the day of the
edit, so the ledger still applies the old rules to parcels from before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain import Area, Facility, FacilityKind, FacilityRefusal, FacilityRules, HandoverWindow, Member
from bot.services import inputs
from bot.services.errors import DomainError, NotAllowed, NotFound
from storage.repositories import UnitOfWork
from storage.store import Store

MAX_FACILITY_NAME = 120
MAX_ADDRESS = 300
MAX_AREA_NAME = 40
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator or not actor.usable:
        raise NotAllowed()


@dataclass(frozen=True)
class FacilityDraft:
    """Everything the add/edit flow gathers; `area_name` is set when the coordinator typed a new area."""

    kind: FacilityKind
    name: str = field(repr=False)
    address: str = field(repr=False)
    rules: FacilityRules = field(repr=False)
    area_id: int | None = None
    area_name: str = field(default="", repr=False)
    places: int = 1


@dataclass(frozen=True)
class FacilityView:
    facility: Facility
    area: Area | None
    refusals: tuple[FacilityRefusal, ...] = ()


def facility_name(text: str) -> str:
    return inputs.text_field(text, low=2, high=MAX_FACILITY_NAME,
                             message="Please send a name of {low} to {high} characters.")


def address(text: str) -> str:
    return inputs.text_field(text, low=3, high=MAX_ADDRESS,
                             message="Please send an address of {low} to {high} characters.")


def area_name(text: str) -> str:
    return inputs.text_field(text, low=2, high=MAX_AREA_NAME,
                             message="Please send a name of {low} to {high} characters.")


async def _area_id(uow: UnitOfWork, draft: FacilityDraft) -> int | None:
    if draft.area_name:
        existing = await uow.areas.by_name(draft.area_name)
        return (existing or await uow.areas.add(draft.area_name)).id
    if draft.area_id is not None and await uow.areas.get(draft.area_id) is None:
        raise NotFound()
    return draft.area_id


async def save_facility(store: Store, actor: Member, draft: FacilityDraft, today: date,
                        facility_id: int | None = None) -> Facility:
    """Add a facility, or update one; a rules change becomes a new version effective today."""
    require_coordinator(actor)
    if draft.places not in (1, 2):
        raise inputs.InputError("Choose 1 or 2 places.")
    async with store.write() as uow:
        area_id = await _area_id(uow, draft)
        if facility_id is None:
            rules = dataclasses.replace(draft.rules, confirmed_on=draft.rules.confirmed_on or today)
            facility = await uow.facilities.add(kind=draft.kind, name=draft.name, address=draft.address,
                                                area_id=area_id, rules=rules, effective_from=today,
                                                places=draft.places)
            await uow.audit.add("facility.added", actor_id=actor.id, subject=draft.name)
            return facility
        current = await uow.facilities.get(facility_id, today)
        if current is None:
            raise NotFound()
        await uow.facilities.update(facility_id, kind=draft.kind, name=draft.name, address=draft.address,
                                    area_id=area_id, places=draft.places)
        # Changed rules are a new version, confirmed today; unchanged rules keep their confirmation date.
        if dataclasses.replace(draft.rules, confirmed_on=None) != dataclasses.replace(current.rules, confirmed_on=None):
            await uow.facilities.set_rules(facility_id, dataclasses.replace(draft.rules, confirmed_on=today), today)
        await uow.audit.add("facility.edited", actor_id=actor.id, subject=draft.name)
        return await uow.facilities.get(facility_id, today)


async def list_facilities(store: Store, today: date | None = None) -> list[Facility]:
    async with store.read() as uow:
        return await uow.facilities.list(today)


async def list_areas(store: Store) -> list[Area]:
    async with store.read() as uow:
        return await uow.areas.list()


async def facility_view(store: Store, actor: Member, facility_id: int, today: date) -> FacilityView:
    require_coordinator(actor)
    async with store.read() as uow:
        facility = await uow.facilities.get(facility_id, today)
        if facility is None:
            raise NotFound()
        area = await uow.areas.get(facility.area_id) if facility.area_id is not None else None
        return FacilityView(facility, area, tuple(await uow.facilities.refusals(facility_id)))


async def refusal_to_rule(store: Store, actor: Member, refusal_id: int, category: str, today: date) -> Facility:
    """Add the category to the facility's refused ones, as a new rules version effective today."""
    require_coordinator(actor)
    category = inputs.category(category).value
    async with store.write() as uow:
        refusal = await uow.facilities.refusal(refusal_id)
        if refusal is None:
            raise NotFound()
        facility = await uow.facilities.get(refusal.facility_id, today)
        if facility is None:
            raise NotFound()
        if category not in facility.rules.refused_categories:
            refused = (*facility.rules.refused_categories, category)
            rules = dataclasses.replace(facility.rules, refused_categories=refused, confirmed_on=today)
            await uow.facilities.set_rules(facility.id, rules, today)
        await uow.facilities.mark_refusal_used(refusal_id)
        await uow.audit.add("facility.rule_from_refusal", actor_id=actor.id, subject=f"{facility.name}: {category}")
        return await uow.facilities.get(facility.id, today)


# Import from TOML -----------------------------------------------------------------------------------


class ImportInvalid(DomainError):
    """A field of the import file is wrong; the message names the entry and the key."""


@dataclass(frozen=True)
class ImportEntry:
    draft: FacilityDraft
    area: str = field(repr=False)


_KEYS = {"name", "kind", "area", "address", "places", "windows", "kg_per_month", "parcels_per_year",
         "parcels_per_year_by_regime", "refused_categories", "goods_parcel_only_categories", "relatives_only",
         "passport_recorded", "notes", "confirmed_on", "verify_locally"}


def _fail(index: int, entry: dict, key: str, why: str) -> ImportInvalid:
    label = entry.get("name") if isinstance(entry.get("name"), str) else f"#{index + 1}"
    return ImportInvalid(f"facility {label!r} (entry {index + 1}), key {key}: {why}")


def _bool(index: int, entry: dict, key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise _fail(index, entry, key, "must be true or false")
    return value


def _categories(index: int, entry: dict, key: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or any(item not in inputs.CATEGORIES for item in value):
        raise _fail(index, entry, key, f"must be a list of: {', '.join(inputs.CATEGORIES)}")
    return tuple(dict.fromkeys(value))


def _windows(index: int, entry: dict) -> tuple[HandoverWindow, ...]:
    value = entry.get("windows", [])
    if not isinstance(value, list):
        raise _fail(index, entry, "windows", "must be a list of {days = [...], hours = \"09:00-13:00\"}")
    windows = []
    for window in value:
        days = window.get("days") if isinstance(window, dict) else None
        if not isinstance(days, list) or not days or any(day not in WEEKDAY_KEYS for day in days):
            raise _fail(index, entry, "windows.days", f"must be a list of: {', '.join(WEEKDAY_KEYS)}")
        try:
            start, end = inputs.hours(str(window.get("hours", "")))
        except inputs.InputError:
            raise _fail(index, entry, "windows.hours", "must look like \"09:00-13:00\"") from None
        windows += [HandoverWindow(WEEKDAY_KEYS.index(day), start, end) for day in days]
    return tuple(sorted(set(windows), key=lambda w: (w.weekday, w.start)))


def _text(index: int, entry: dict, key: str, parse, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise _fail(index, entry, key, "must be text")
    try:
        return parse(value)
    except inputs.InputError as error:
        raise _fail(index, entry, key, error.message.format(**error.values)) from None


def parse_entry(index: int, entry: Any) -> ImportEntry:
    if not isinstance(entry, dict):
        raise ImportInvalid(f"entry {index + 1}: must be a [[facility]] table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise _fail(index, entry, unknown[0], "unknown key")
    name = _text(index, entry, "name", facility_name)
    kind = entry.get("kind")
    if kind not in {k.value for k in FacilityKind}:
        raise _fail(index, entry, "kind", f"must be one of: {', '.join(k.value for k in FacilityKind)}")
    area = _text(index, entry, "area", area_name)
    place = _text(index, entry, "address", address)
    places = entry.get("places", 1)
    if places not in (1, 2) or isinstance(places, bool):
        raise _fail(index, entry, "places", "must be 1 or 2")
    kg = entry.get("kg_per_month")
    if kg is not None and (isinstance(kg, bool) or not isinstance(kg, int | float) or not 0.1 <= kg <= 500):
        raise _fail(index, entry, "kg_per_month", "must be a number from 0.1 to 500")
    per_year = entry.get("parcels_per_year")
    if per_year is not None and (isinstance(per_year, bool) or not isinstance(per_year, int)
                                 or not 0 <= per_year <= 365):
        raise _fail(index, entry, "parcels_per_year", "must be a whole number from 0 to 365")
    by_regime = entry.get("parcels_per_year_by_regime", {})
    if not isinstance(by_regime, dict) or any(
        not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 365 or len(regime) > 30
        for regime, count in by_regime.items()
    ):
        raise _fail(index, entry, "parcels_per_year_by_regime",
                    "must map a regime to a whole number, e.g. {strict = 4}")
    notes = entry.get("notes", "")
    if not isinstance(notes, str) or len(notes) > inputs.MAX_NOTES:
        raise _fail(index, entry, "notes", f"must be text up to {inputs.MAX_NOTES} characters")
    confirmed = entry.get("confirmed_on")
    if confirmed is not None and (not isinstance(confirmed, date) or hasattr(confirmed, "hour")):
        raise _fail(index, entry, "confirmed_on", "must be a date, e.g. 2024-07-12")
    rules = FacilityRules(
        windows=_windows(index, entry), kg_per_month=None if kg is None else float(kg), parcels_per_year=per_year,
        parcels_per_year_by_regime={regime.casefold(): count for regime, count in by_regime.items()},
        refused_categories=_categories(index, entry, "refused_categories"),
        goods_parcel_only_categories=_categories(index, entry, "goods_parcel_only_categories"),
        relatives_only=_bool(index, entry, "relatives_only"),
        passport_recorded=_bool(index, entry, "passport_recorded"),
        notes=notes.strip(), confirmed_on=confirmed, verify_locally=_bool(index, entry, "verify_locally"),
    )
    draft = FacilityDraft(kind=FacilityKind(kind), name=name, address=place, rules=rules, area_name=area,
                          places=places)
    return ImportEntry(draft=draft, area=area)


def parse_import(document: dict[str, Any]) -> list[ImportEntry]:
    """Validate every entry before anything is written; the first problem names its entry and key."""
    unknown = sorted(set(document) - {"facility"})
    if unknown:
        raise ImportInvalid(f"key {unknown[0]}: unknown; the file holds [[facility]] tables")
    entries = document.get("facility")
    if not isinstance(entries, list) or not entries:
        raise ImportInvalid("key facility: the file must hold at least one [[facility]] table")
    parsed = [parse_entry(index, entry) for index, entry in enumerate(entries)]
    names = [entry.draft.name.casefold() for entry in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ImportInvalid(f"facility {parsed[index].draft.name!r} (entry {index + 1}), key name: appears twice")
    return parsed


async def import_facilities(store: Store, entries: list[ImportEntry], today: date) -> tuple[int, int]:
    """All entries in one transaction: a facility with the same name is updated, not duplicated."""
    added = updated = 0
    async with store.write() as uow:
        for entry in entries:
            draft = entry.draft
            area_id = await _area_id(uow, draft)
            existing = await uow.facilities.by_name(draft.name)
            if existing is None:
                await uow.facilities.add(kind=draft.kind, name=draft.name, address=draft.address, area_id=area_id,
                                         rules=draft.rules, effective_from=today, places=draft.places)
                added += 1
                continue
            await uow.facilities.update(existing.id, kind=draft.kind, name=draft.name, address=draft.address,
                                        area_id=area_id, places=draft.places)
            current = await uow.facilities.get(existing.id, today)
            if current.rules != draft.rules:
                await uow.facilities.set_rules(existing.id, draft.rules, today)
            updated += 1
        await uow.audit.add("facility.imported", actor_id=None, subject=f"{added} added, {updated} updated")
    return added, updated
