"""Family requests: what a family typed, sealed as one value; status and dates plain for the views and retention."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_db, to_db
from bot.domain import FamilyRequest, RequestDetails, RequestStatus, Urgency
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, member_id, status, details, prisoner_id, decline_reason, created_at, closed_at"
OPEN = (RequestStatus.WAITING,)


def _details_to_dict(details: RequestDetails) -> dict:
    return {"full_name": details.full_name, "birth_year": details.birth_year, "facility_id": details.facility_id,
            "facility_other": details.facility_other, "categories": list(details.categories), "text": details.text,
            "urgency": details.urgency.value}


def _details_from_dict(data: dict) -> RequestDetails:
    return RequestDetails(full_name=data["full_name"], birth_year=data["birth_year"], facility_id=data["facility_id"],
                          facility_other=data.get("facility_other", ""), categories=tuple(data["categories"]),
                          text=data.get("text", ""), urgency=Urgency(data.get("urgency", "normal")))


class Requests(Repository):
    table = "family_requests"

    def _request(self, row: tuple) -> FamilyRequest:
        return FamilyRequest(
            id=row[0], member_id=row[1], status=RequestStatus(row[2]),
            details=_details_from_dict(self.open_json("details", row[0], row[3])), prisoner_id=row[4],
            decline_reason=row[5] or "", created_at=from_db(row[6]), closed_at=from_db(row[7]),
        )

    async def add(self, member_id: int, details: RequestDetails) -> FamilyRequest:
        request = FamilyRequest(id=new_id(), member_id=member_id, status=RequestStatus.WAITING,
                                created_at=self.clock.now(), details=details)
        await self.session.run(
            f"INSERT INTO family_requests ({_COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL)",
            (request.id, member_id, request.status.value,
             self.seal_json("details", request.id, _details_to_dict(details)), to_db(request.created_at)),
        )
        return request

    async def get(self, request_id: int) -> FamilyRequest | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM family_requests WHERE id = ?", (request_id,))
        return None if row is None else self._request(row)

    async def list(self, *, status: RequestStatus | None = None, member_id: int | None = None,
                   limit: int = 50) -> list[FamilyRequest]:
        sql = f"SELECT {_COLUMNS} FROM family_requests WHERE 1=1"
        params: list = []
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        if member_id is not None:
            sql += " AND member_id = ?"
            params.append(member_id)
        rows = await self.session.all(sql + " ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [self._request(row) for row in rows]

    async def for_prisoner(self, prisoner_id: int, status: RequestStatus, limit: int = 20) -> list[FamilyRequest]:
        """Requests in one status linked to one prisoner (accepted: the families to tell when a parcel went in)."""
        rows = await self.session.all(
            f"SELECT {_COLUMNS} FROM family_requests WHERE prisoner_id = ? AND status = ?"
            " ORDER BY created_at, id LIMIT ?",
            (prisoner_id, status.value, limit),
        )
        return [self._request(row) for row in rows]

    async def count(self, status: RequestStatus) -> int:
        return await self.session.value("SELECT count(*) FROM family_requests WHERE status = ?", (status.value,))

    async def link(self, request_id: int, prisoner_id: int) -> None:
        await self.session.run("UPDATE family_requests SET prisoner_id = ? WHERE id = ?", (prisoner_id, request_id))

    async def close(self, request_id: int, status: RequestStatus, decline_reason: str = "") -> bool:
        """Waiting -> accepted/declined/withdrawn, once: a second close (double tap) changes nothing."""
        changed = await self.session.run(
            "UPDATE family_requests SET status = ?, decline_reason = ?, closed_at = ? WHERE id = ? AND status = ?",
            (status.value, decline_reason or None, to_db(self.clock.now()), request_id, RequestStatus.WAITING.value),
        )
        return changed == 1

    async def erase_closed_before(self, moment: datetime) -> int:
        count = await self.session.run(
            "DELETE FROM family_requests WHERE status != 'waiting' AND closed_at IS NOT NULL AND closed_at < ?",
            (to_db(moment),),
        )
        if count:
            self.session.mark_erased()
        return count

    async def erase_member(self, member_id: int) -> int:
        """Forget-me: a family's requests go with them."""
        count = await self.session.run("DELETE FROM family_requests WHERE member_id = ?", (member_id,))
        if count:
            self.session.mark_erased()
        return count
