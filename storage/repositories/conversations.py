"""Conversation state (which step a member is on, what they typed so far), sealed, one row per member.

Kept in the database rather than in memory so a restart does not lose a half-finished request, and
sealed because what a family types mid-conversation is as sensitive as the finished request.
"""

from __future__ import annotations

from typing import Any

from bot.clock import to_db
from storage.repositories.base import Repository


class Conversations(Repository):
    table = "conversations"

    async def get(self, member_id: int) -> tuple[str, str, dict[str, Any]] | None:
        row = await self.session.one("SELECT name, step, data FROM conversations WHERE member_id = ?", (member_id,))
        if row is None:
            return None
        return row[0], row[1], self.open_json("data", member_id, row[2])

    async def put(self, member_id: int, name: str, step: str, data: dict[str, Any]) -> None:
        await self.session.run(
            "INSERT INTO conversations (member_id, name, step, data, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(member_id) DO UPDATE SET name = excluded.name, step = excluded.step,"
            " data = excluded.data, updated_at = excluded.updated_at",
            (member_id, name, step, self.seal_json("data", member_id, data), to_db(self.clock.now())),
        )
        # The previous step's data is overwritten: checkpoint so it also leaves the WAL.
        self.session.mark_erased()

    async def clear(self, member_id: int) -> bool:
        changed = await self.session.run("DELETE FROM conversations WHERE member_id = ?", (member_id,))
        return changed > 0

    async def erase_older_than(self, moment) -> int:
        return await self.session.run("DELETE FROM conversations WHERE updated_at < ?", (to_db(moment),))
