"""Needs: category, status, urgency, weight and due date plain (the planner queries them); details sealed."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date

from bot.clock import from_db, to_db
from bot.domain import Need, NeedCategory, NeedStatus, Urgency
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, prisoner_id, category, status, urgency, weight_g, details, due_on, request_id, created_at"
CLOSED = (NeedStatus.FULFILLED, NeedStatus.CANCELLED)


class Needs(Repository):
    table = "needs"

    def _need(self, row: tuple) -> Need:
        details = self.keyring.open_text_optional(row[6], table=self.table, column="details", row_id=row[0]) or ""
        return Need(
            id=row[0], prisoner_id=row[1], category=NeedCategory(row[2]), status=NeedStatus(row[3]),
            urgency=Urgency(row[4]), weight_g=row[5], details=details,
            due_on=date.fromisoformat(row[7]) if row[7] else None, request_id=row[8], created_at=from_db(row[9]),
        )

    async def add(self, *, prisoner_id: int, category: NeedCategory, weight_g: int, urgency: Urgency = Urgency.NORMAL,
                  details: str = "", due_on: date | None = None, request_id: int | None = None) -> Need:
        need = Need(id=new_id(), prisoner_id=prisoner_id, category=category, status=NeedStatus.OPEN, urgency=urgency,
                    weight_g=weight_g, created_at=self.clock.now(), details=details, due_on=due_on,
                    request_id=request_id)
        await self.session.run(
            f"INSERT INTO needs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (need.id, prisoner_id, category.value, need.status.value, urgency.value, weight_g,
             self.seal("details", need.id, details), due_on.isoformat() if due_on else None, request_id,
             to_db(need.created_at)),
        )
        return need

    async def get(self, need_id: int) -> Need | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM needs WHERE id = ?", (need_id,))
        return None if row is None else self._need(row)

    async def list(self, status: NeedStatus | Collection[NeedStatus] | None = None,
                   prisoner_id: int | None = None, prisoner_ids: Collection[int] | None = None) -> list[Need]:
        sql = f"SELECT {_COLUMNS} FROM needs WHERE 1=1"
        params: list = []
        if status is not None:
            statuses = [status] if isinstance(status, NeedStatus) else list(status)
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(NeedStatus(item).value for item in statuses)
        if prisoner_id is not None:
            sql += " AND prisoner_id = ?"
            params.append(prisoner_id)
        if prisoner_ids is not None:
            sql += " AND prisoner_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(prisoner_ids)))
        rows = await self.session.all(sql + " ORDER BY created_at, id", params)
        return [self._need(row) for row in rows]

    async def set_status(self, need_ids: Collection[int], status: NeedStatus) -> None:
        closed_at = to_db(self.clock.now()) if status in CLOSED else None
        await self.session.run_many(
            "UPDATE needs SET status = ?, closed_at = ? WHERE id = ?",
            [(status.value, closed_at, need_id) for need_id in need_ids],
        )

    async def close_for_prisoner(self, prisoner_id: int, status: NeedStatus = NeedStatus.CANCELLED) -> int:
        """Open and planned needs of one prisoner closed at once (release)."""
        return await self.session.run(
            "UPDATE needs SET status = ?, closed_at = ? WHERE prisoner_id = ? AND status IN ('open', 'planned')",
            (status.value, to_db(self.clock.now()), prisoner_id),
        )

    async def open_counts(self) -> list[tuple[str, int | None, int]]:
        """(category, facility's area id, count) of open needs: what the fundraisers' list is made of."""
        rows = await self.session.all(
            "SELECT needs.category, facilities.area_id, count(*) FROM needs"
            " JOIN prisoners ON prisoners.id = needs.prisoner_id"
            " LEFT JOIN facilities ON facilities.id = prisoners.facility_id"
            " WHERE needs.status = 'open' GROUP BY needs.category, facilities.area_id"
        )
        return [(row[0], row[1], row[2]) for row in rows]
