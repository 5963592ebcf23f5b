"""Prisoners: a sealed alias (with a blind index for lookups) and a sealed identity; transfers kept as history.

Plain columns: status, facility id, the suspension date and the last parcel day, which the planner
and the "not reached" view query. Names, birth years, regimes and notes live only in `identity`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date

from bot.clock import from_db, to_db
from bot.domain import Prisoner, PrisonerStatus, Transfer
from storage.crypto import Keyring
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, alias, identity, facility_id, status, suspended_until, last_parcel_on, created_at"
# Outcomes that count against the allowance (the runs feature writes them).
DELIVERED_OUTCOMES = ("delivered", "partly")


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _categories(text: str | None) -> tuple[str, ...]:
    """Parcels keep categories as a JSON list; a comma list is read too, so either writer works."""
    if not text:
        return ()
    if text.lstrip().startswith("["):
        return tuple(str(item) for item in json.loads(text))
    return tuple(part.strip() for part in text.split(",") if part.strip())


ALIAS = "prisoner-alias"  # blind index purpose


class Prisoners(Repository):
    table = "prisoners"

    def alias_index(self, alias: str) -> bytes:
        return self.index(ALIAS, alias.casefold())

    async def reindex(self, under: Keyring) -> int:
        """Index key rotation: each alias hash recomputed under `under` (checked first)."""
        rows = await self.session.all("SELECT id, alias, alias_index FROM prisoners")
        updates = [(self.rehash(stored, self.open_text("alias", prisoner_id, alias).casefold(), ALIAS, under,
                                prisoner_id), prisoner_id) for prisoner_id, alias, stored in rows]
        await self.session.run_many("UPDATE prisoners SET alias_index = ? WHERE id = ?", updates)
        return len(updates)

    def _identity(self, prisoner: Prisoner) -> dict:
        return {"full_name": prisoner.full_name, "birth_year": prisoner.birth_year, "regime": prisoner.regime,
                "notes": prisoner.notes}

    def _prisoner(self, row: tuple) -> Prisoner:
        identity = self.open_json("identity", row[0], row[2])
        return Prisoner(
            id=row[0], alias=self.open_text("alias", row[0], row[1]), facility_id=row[3],
            status=PrisonerStatus(row[4]), full_name=identity["full_name"], birth_year=identity["birth_year"],
            regime=identity.get("regime", ""), notes=identity.get("notes", ""),
            suspended_until=_day(row[5]), last_parcel_on=_day(row[6]), created_at=from_db(row[7]),
        )

    async def alias_taken(self, alias: str) -> bool:
        return await self.session.value(
            "SELECT 1 FROM prisoners WHERE alias_index = ?", (self.alias_index(alias),)) is not None

    async def add(self, *, alias: str, full_name: str, birth_year: int, facility_id: int | None,
                  status: PrisonerStatus, regime: str = "", notes: str = "",
                  suspended_until: date | None = None) -> Prisoner:
        prisoner = Prisoner(id=new_id(), alias=alias, facility_id=facility_id, status=status, full_name=full_name,
                            birth_year=birth_year, regime=regime, notes=notes, suspended_until=suspended_until,
                            created_at=self.clock.now())
        await self.session.run(
            f"INSERT INTO prisoners ({_COLUMNS}, alias_index) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (prisoner.id, self.seal("alias", prisoner.id, alias), self.seal_json("identity", prisoner.id,
                                                                              self._identity(prisoner)),
             facility_id, status.value, suspended_until.isoformat() if suspended_until else None,
             to_db(prisoner.created_at), self.alias_index(alias)),
        )
        return prisoner

    async def get(self, prisoner_id: int) -> Prisoner | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM prisoners WHERE id = ?", (prisoner_id,))
        return None if row is None else self._prisoner(row)

    async def aliases(self, prisoner_ids: Collection[int]) -> dict[int, str]:
        """Aliases only: views that show aliases never open a name (fewer secrets in memory, and faster)."""
        rows = await self.session.all(
            "SELECT id, alias FROM prisoners WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(prisoner_ids)),),
        )
        return {row[0]: self.open_text("alias", row[0], row[1]) for row in rows}

    async def many(self, prisoner_ids: Collection[int]) -> dict[int, Prisoner]:
        rows = await self.session.all(
            f"SELECT {_COLUMNS} FROM prisoners WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(prisoner_ids)),),
        )
        return {row[0]: self._prisoner(row) for row in rows}

    async def list(self, facility_id: int | None = None,
                   statuses: Collection[PrisonerStatus] = ()) -> list[Prisoner]:
        sql = f"SELECT {_COLUMNS} FROM prisoners WHERE 1=1"
        params: list = []
        if facility_id is not None:
            sql += " AND facility_id = ?"
            params.append(facility_id)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(PrisonerStatus(status).value for status in statuses)
        prisoners = [self._prisoner(row) for row in await self.session.all(sql, params)]
        return sorted(prisoners, key=lambda prisoner: prisoner.alias.casefold())

    async def search_alias(self, alias: str) -> Prisoner | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM prisoners WHERE alias_index = ?",
                                     (self.alias_index(" ".join(alias.split())),))
        return None if row is None else self._prisoner(row)

    async def update(self, prisoner: Prisoner) -> None:
        """Write every mutable field of `prisoner` (identity resealed, status, facility, suspension)."""
        await self.session.run(
            "UPDATE prisoners SET identity = ?, facility_id = ?, status = ?, suspended_until = ? WHERE id = ?",
            (self.seal_json("identity", prisoner.id, self._identity(prisoner)), prisoner.facility_id,
             prisoner.status.value, prisoner.suspended_until.isoformat() if prisoner.suspended_until else None,
             prisoner.id),
        )
        self.session.mark_erased()  # the previous identity must leave the WAL too

    async def transfer(self, prisoner_id: int, to_facility_id: int | None, moved_on: date) -> None:
        """Move to another facility, keeping where they were and when in `transfers`."""
        await self.session.run(
            "INSERT INTO transfers (id, prisoner_id, from_facility_id, to_facility_id, moved_on)"
            " SELECT ?, id, facility_id, ?, ? FROM prisoners WHERE id = ?",
            (new_id(), to_facility_id, moved_on.isoformat(), prisoner_id),
        )
        await self.session.run("UPDATE prisoners SET facility_id = ? WHERE id = ?", (to_facility_id, prisoner_id))

    async def transfers(self, prisoner_id: int) -> list[Transfer]:
        rows = await self.session.all(
            "SELECT prisoner_id, from_facility_id, to_facility_id, moved_on FROM transfers WHERE prisoner_id = ?"
            " ORDER BY moved_on", (prisoner_id,))
        return [Transfer(row[0], row[1], row[2], date.fromisoformat(row[3])) for row in rows]

    async def set_status(self, prisoner_id: int, status: PrisonerStatus) -> None:
        await self.session.run("UPDATE prisoners SET status = ? WHERE id = ?", (status.value, prisoner_id))

    async def not_in_week(self, week_start: date) -> set[int]:
        """Prisoners a coordinator took out of this week's plan (a dropped draft): planned next week."""
        rows = await self.session.all("SELECT id FROM prisoners WHERE not_in_week = ?", (week_start.isoformat(),))
        return {prisoner_id for (prisoner_id,) in rows}

    async def back_in_week(self, week_start: date) -> None:
        """Undo not_in_week for that week: the dropped are planned again."""
        await self.session.run("UPDATE prisoners SET not_in_week = NULL WHERE not_in_week = ?",
                               (week_start.isoformat(),))

    async def set_last_parcel_on(self, prisoner_id: int, day: date) -> None:
        """Only ever moves forward: a late report of an older parcel does not hide a newer one."""
        await self.session.run(
            "UPDATE prisoners SET last_parcel_on = ? WHERE id = ? AND (last_parcel_on IS NULL OR last_parcel_on < ?)",
            (day.isoformat(), prisoner_id, day.isoformat()),
        )

    async def delivered_since(self, prisoner_ids: Collection[int], since: date
                              ) -> list[tuple[int, date, int, tuple[str, ...]]]:
        """(prisoner id, day, grams, categories) of delivered parcels from `since` on, in one query."""
        rows = await self.session.all(
            "SELECT prisoner_id, delivered_on, weight_g, categories FROM parcels"
            " WHERE prisoner_id IN (SELECT value FROM json_each(?)) AND outcome IN (?, ?)"
            " AND delivered_on IS NOT NULL AND substr(delivered_on, 1, 10) >= ?",
            (json.dumps(list(prisoner_ids)), *DELIVERED_OUTCOMES, since.isoformat()),
        )
        return [(row[0], date.fromisoformat(row[1][:10]), row[2], _categories(row[3])) for row in rows]
