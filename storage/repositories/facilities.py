"""Facilities, their rules in dated versions, and the refusal log. Names, addresses, rules and notes sealed.

Only the kind, the area id, places per run and dates are plain: they say nothing a seized disk
would not show anyway by the row counts.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.clock import to_db
from bot.domain import Facility, FacilityKind, FacilityRefusal, FacilityRules, HandoverWindow
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, kind, area_id, name, address, places"


def rules_to_dict(rules: FacilityRules) -> dict[str, Any]:
    return {
        "windows": [[w.weekday, w.start, w.end] for w in rules.windows],
        "kg_per_month": rules.kg_per_month,
        "parcels_per_year": rules.parcels_per_year,
        "parcels_per_year_by_regime": dict(rules.parcels_per_year_by_regime),
        "refused_categories": list(rules.refused_categories),
        "goods_parcel_only_categories": list(rules.goods_parcel_only_categories),
        "relatives_only": rules.relatives_only,
        "passport_recorded": rules.passport_recorded,
        "notes": rules.notes,
        "confirmed_on": rules.confirmed_on.isoformat() if rules.confirmed_on else None,
        "verify_locally": rules.verify_locally,
    }


def rules_from_dict(data: dict[str, Any]) -> FacilityRules:
    confirmed = data.get("confirmed_on")
    return FacilityRules(
        windows=tuple(HandoverWindow(int(w[0]), w[1], w[2]) for w in data.get("windows", ())),
        kg_per_month=data.get("kg_per_month"),
        parcels_per_year=data.get("parcels_per_year"),
        parcels_per_year_by_regime=dict(data.get("parcels_per_year_by_regime") or {}),
        refused_categories=tuple(data.get("refused_categories", ())),
        goods_parcel_only_categories=tuple(data.get("goods_parcel_only_categories", ())),
        relatives_only=bool(data.get("relatives_only")),
        passport_recorded=bool(data.get("passport_recorded")),
        notes=data.get("notes") or "",
        confirmed_on=date.fromisoformat(confirmed) if confirmed else None,
        verify_locally=bool(data.get("verify_locally")),
    )


class Facilities(Repository):
    table = "facilities"

    # Sealing for the two side tables, bound to their own table names.
    def _seal_rules(self, row_id: int, rules: FacilityRules) -> bytes:
        text = json.dumps(rules_to_dict(rules), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.keyring.seal(text, table="facility_rules", column="rules", row_id=row_id)

    def _open_rules(self, row_id: int, envelope: bytes) -> FacilityRules:
        return rules_from_dict(json.loads(
            self.keyring.open_text(envelope, table="facility_rules", column="rules", row_id=row_id)))

    def _facility(self, row: tuple, rules: FacilityRules) -> Facility:
        return Facility(
            id=row[0], kind=FacilityKind(row[1]), area_id=row[2], name=self.open_text("name", row[0], row[3]),
            address=self.open_text("address", row[0], row[4]), rules=rules, places=row[5],
        )

    def _today(self) -> date:
        return self.clock.now().date()

    async def add(self, *, kind: FacilityKind, name: str, address: str, area_id: int | None, rules: FacilityRules,
                  effective_from: date, places: int = 1) -> Facility:
        facility_id = new_id()
        await self.session.run(
            f"INSERT INTO facilities ({_COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (facility_id, kind.value, area_id, self.seal("name", facility_id, name),
             self.seal("address", facility_id, address), places, to_db(self.clock.now())),
        )
        await self.set_rules(facility_id, rules, effective_from)
        return Facility(facility_id, kind, area_id, name, address, rules, places)

    async def update(self, facility_id: int, *, kind: FacilityKind, name: str, address: str, area_id: int | None,
                     places: int) -> None:
        await self.session.run(
            "UPDATE facilities SET kind = ?, area_id = ?, name = ?, address = ?, places = ? WHERE id = ?",
            (kind.value, area_id, self.seal("name", facility_id, name), self.seal("address", facility_id, address),
             places, facility_id),
        )
        self.session.mark_erased()  # the old name and address must leave the WAL too

    async def set_places(self, facility_id: int, places: int) -> None:
        await self.session.run("UPDATE facilities SET places = ? WHERE id = ?", (places, facility_id))

    async def get(self, facility_id: int, on: date | None = None) -> Facility | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM facilities WHERE id = ?", (facility_id,))
        if row is None:
            return None
        return self._facility(row, _in_force(await self.rules_history(facility_id), on or self._today()))

    async def list(self, on: date | None = None) -> list[Facility]:
        rows = await self.session.all(f"SELECT {_COLUMNS} FROM facilities")
        histories = await self.rules_histories([row[0] for row in rows])
        day = on or self._today()
        facilities = [self._facility(row, _in_force(histories.get(row[0], []), day)) for row in rows]
        return sorted(facilities, key=lambda facility: facility.name.casefold())

    async def placements(self) -> dict[int, tuple[FacilityKind, int | None]]:
        """Kind and area of every facility, from plain columns only: what coarse run lists need, no opening."""
        rows = await self.session.all("SELECT id, kind, area_id FROM facilities")
        return {row[0]: (FacilityKind(row[1]), row[2]) for row in rows}

    async def by_name(self, name: str) -> Facility | None:
        """Names are sealed and facilities few (dozens), so open them all rather than keep a name index."""
        wanted = " ".join(name.split()).casefold()
        return next((f for f in await self.list() if " ".join(f.name.split()).casefold() == wanted), None)

    async def rules_history(self, facility_id: int) -> list[tuple[date, FacilityRules]]:
        return (await self.rules_histories([facility_id])).get(facility_id, [])

    async def rules_histories(self, facility_ids: list[int]) -> dict[int, list[tuple[date, FacilityRules]]]:
        """Every version for many facilities in one query, oldest first."""
        if not facility_ids:
            return {}
        rows = await self.session.all(
            "SELECT id, facility_id, effective_from, rules FROM facility_rules"
            " WHERE facility_id IN (SELECT value FROM json_each(?)) ORDER BY effective_from",
            (json.dumps(facility_ids),),
        )
        histories: dict[int, list[tuple[date, FacilityRules]]] = {}
        for row in rows:
            histories.setdefault(row[1], []).append((date.fromisoformat(row[2]), self._open_rules(row[0], row[3])))
        return histories

    async def set_rules(self, facility_id: int, rules: FacilityRules, effective_from: date) -> None:
        """A new version from that date; a second change on the same day replaces that day's version."""
        deleted = await self.session.run(
            "DELETE FROM facility_rules WHERE facility_id = ? AND effective_from = ?",
            (facility_id, effective_from.isoformat()),
        )
        if deleted:
            self.session.mark_erased()
        row_id = new_id()
        await self.session.run(
            "INSERT INTO facility_rules (id, facility_id, effective_from, rules) VALUES (?, ?, ?, ?)",
            (row_id, facility_id, effective_from.isoformat(), self._seal_rules(row_id, rules)),
        )

    # The refusal log ---------------------------------------------------------------------------------

    async def add_refusal(self, facility_id: int, reported_on: date, reason: str, note: str = "") -> int:
        row_id = new_id()
        await self.session.run(
            "INSERT INTO refusals (id, facility_id, reported_on, reason, note) VALUES (?, ?, ?, ?, ?)",
            (row_id, facility_id, reported_on.isoformat(), reason[:40],
             self.keyring.seal(note, table="refusals", column="note", row_id=row_id)),
        )
        return row_id

    async def refusals(self, facility_id: int, limit: int = 20) -> list[FacilityRefusal]:
        rows = await self.session.all(
            "SELECT id, facility_id, reported_on, reason, note, turned_into_rule FROM refusals"
            " WHERE facility_id = ? ORDER BY reported_on DESC LIMIT ?",
            (facility_id, limit),
        )
        return [_refusal(row, self.keyring) for row in rows]

    async def refusal(self, refusal_id: int) -> FacilityRefusal | None:
        row = await self.session.one(
            "SELECT id, facility_id, reported_on, reason, note, turned_into_rule FROM refusals WHERE id = ?",
            (refusal_id,),
        )
        return None if row is None else _refusal(row, self.keyring)

    async def mark_refusal_used(self, refusal_id: int) -> None:
        await self.session.run("UPDATE refusals SET turned_into_rule = 1 WHERE id = ?", (refusal_id,))


def _refusal(row: tuple, keyring) -> FacilityRefusal:
    note = keyring.open_text_optional(row[4], table="refusals", column="note", row_id=row[0]) or ""
    return FacilityRefusal(id=row[0], facility_id=row[1], reported_on=date.fromisoformat(row[2]), reason=row[3],
                           note=note, turned_into_rule=bool(row[5]))


def _in_force(history: list[tuple[date, FacilityRules]], on: date) -> FacilityRules:
    """The latest version that took effect on or before `on` (history is oldest first)."""
    current = FacilityRules()
    for effective_from, rules in history:
        if effective_from <= on:
            current = rules
    return current
