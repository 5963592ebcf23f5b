"""Invites: stored only as a keyed hash of the code, with role, expiry and use."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_db, to_db
from bot.domain import Invite, Role
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, role, created_at, expires_at, created_by, used_at"


def _invite(row: tuple) -> Invite:
    return Invite(
        id=row[0], role=Role(row[1]), created_at=from_db(row[2]), expires_at=from_db(row[3]),
        created_by=row[4], used_at=from_db(row[5]),
    )


class Invites(Repository):
    table = "invites"

    async def add(self, code: str, role: Role, expires_at: datetime, created_by: int | None) -> Invite:
        invite_id = new_id()
        now = self.clock.now()
        await self.session.run(
            "INSERT INTO invites (id, code_hash, role, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (invite_id, self.index("invite", code), role.value, created_by, to_db(now), to_db(expires_at)),
        )
        return Invite(invite_id, role, now, expires_at, created_by)

    async def usable(self, code: str, now: datetime) -> Invite | None:
        row = await self.session.one(
            f"SELECT {_COLUMNS} FROM invites WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            (self.index("invite", code), to_db(now)),
        )
        return None if row is None else _invite(row)

    async def mark_used(self, invite_id: int, now: datetime) -> bool:
        changed = await self.session.run(
            "UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL", (to_db(now), invite_id)
        )
        return changed == 1

    async def erase_expired(self, now: datetime) -> int:
        """Used and expired invites are of no further use; only the count stays in the audit."""
        return await self.session.run(
            "DELETE FROM invites WHERE used_at IS NOT NULL OR expires_at <= ?", (to_db(now),)
        )

    async def count(self) -> int:
        return await self.session.value("SELECT count(*) FROM invites")
