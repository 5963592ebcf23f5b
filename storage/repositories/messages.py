"""The sealed outbox: bot messages to delete later, by deadline or when their run or member ends."""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import from_db, to_db
from bot.domain import TrackedMessage
from storage.repositories.base import Repository, new_id

_COLUMNS = "id, member_id, kind, target, run_id, sent_at, delete_after"


class TrackedMessages(Repository):
    table = "tracked_messages"

    def _message(self, row: tuple) -> TrackedMessage:
        target = self.open_json("target", row[0], row[3])
        return TrackedMessage(
            id=row[0], member_id=row[1], kind=row[2], chat_id=target["chat"], message_id=target["message"],
            run_id=row[4], sent_at=from_db(row[5]), delete_after=from_db(row[6]),
        )

    async def track(self, *, member_id: int | None, kind: str, chat_id: int, message_id: int,
                    delete_after: datetime, run_id: int | None = None) -> int:
        row_id = new_id()
        await self.session.run(
            f"INSERT INTO tracked_messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row_id, member_id, kind, self.seal_json("target", row_id, {"chat": chat_id, "message": message_id}),
             run_id, to_db(self.clock.now()), to_db(delete_after)),
        )
        return row_id

    async def due(self, now: datetime, limit: int = 200) -> list[TrackedMessage]:
        rows = await self.session.all(
            f"SELECT {_COLUMNS} FROM tracked_messages WHERE delete_after <= ? ORDER BY delete_after LIMIT ?",
            (to_db(now), limit),
        )
        return [self._message(row) for row in rows]

    async def for_member(self, member_id: int) -> list[TrackedMessage]:
        rows = await self.session.all(f"SELECT {_COLUMNS} FROM tracked_messages WHERE member_id = ?", (member_id,))
        return [self._message(row) for row in rows]

    async def for_run(self, run_id: int) -> list[TrackedMessage]:
        rows = await self.session.all(f"SELECT {_COLUMNS} FROM tracked_messages WHERE run_id = ?", (run_id,))
        return [self._message(row) for row in rows]

    async def all(self) -> list[TrackedMessage]:
        rows = await self.session.all(f"SELECT {_COLUMNS} FROM tracked_messages")
        return [self._message(row) for row in rows]

    async def outlive_member(self, member_id: int) -> None:
        """The member is being erased, but their messages must still leave the chat: the rows lose the
        member (so the erasure does not take them along) and fall due now, for the deletion job to retry
        whatever Telegram does not delete at once."""
        await self.session.run(
            "UPDATE tracked_messages SET member_id = NULL, delete_after = min(delete_after, ?) WHERE member_id = ?",
            (to_db(self.clock.now()), member_id),
        )

    async def forget(self, message_ids: list[int]) -> None:
        """One statement for any number of ids (so it may run as Store.write_one)."""
        if message_ids:
            await self.session.run("DELETE FROM tracked_messages WHERE id IN (SELECT value FROM json_each(?))",
                                   (json.dumps(message_ids),))
            self.session.mark_erased()

    async def next_due(self) -> datetime | None:
        return from_db(await self.session.value("SELECT min(delete_after) FROM tracked_messages"))
