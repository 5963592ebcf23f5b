"""Notices a lockdown held back (a claim approved, a run called off, a family's request answered):
sealed until the lockdown is lifted, then sent and deleted (handlers/notify.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.clock import from_db, to_db
from bot.domain import HeldNotice
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, member_id, held_at, notice, run_id"


class HeldNotices(Repository):
    table = "held_notices"

    def _notice(self, row: tuple) -> HeldNotice:
        notice = self.open_json("notice", row[0], row[3])
        return HeldNotice(id=row[0], member_id=row[1], held_at=from_db(row[2]), message=notice["message"],
                          values=notice["values"], silent=notice["silent"], run_id=row[4])

    async def hold(self, member_id: int, message: str, values: dict[str, Any], *, silent: bool = False,
                   run_id: int | None = None) -> int:
        row_id = new_id()
        # Values are what a message is formatted with (a run's code, a date as text): kept as text.
        notice = {"message": message, "values": {key: str(value) for key, value in values.items()},
                  "silent": silent}
        await self.session.run(
            f"INSERT INTO held_notices ({_COLUMNS}, seq)"
            " VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM held_notices))",
            (row_id, member_id, to_db(self.clock.now()), self.seal_json("notice", row_id, notice), run_id),
        )
        return row_id

    async def waiting(self) -> int:
        return await self.session.value("SELECT count(*) FROM held_notices")

    async def take(self, limit: int) -> list[HeldNotice]:
        """The oldest `limit` notices, deleted as they are read: the caller sends them after the commit."""
        rows = await self.session.all(f"SELECT {_COLUMNS} FROM held_notices ORDER BY seq LIMIT ?", (limit,))
        if rows:
            await self.session.run("DELETE FROM held_notices WHERE id IN (SELECT value FROM json_each(?))",
                                   (json.dumps([row[0] for row in rows]),))
        return [self._notice(row) for row in rows]

    async def erase_before(self, before: datetime) -> int:
        """Notices held since before `before`: a lockdown that long has made them moot."""
        return await self.session.run("DELETE FROM held_notices WHERE held_at < ?", (to_db(before),))
