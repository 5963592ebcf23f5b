"""Scheduled work as rows: every reminder, deadline and deletion is a (kind, ref_id, due_at) row.

The database is the source of truth for time: jobs poll `due(now)` instead of living only in memory,
so work that fell due while the bot was down still happens once after a restart. `mark_done` is a
guarded update, so a row is acted on exactly once even if two rounds overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_db, to_db
from storage.repositories.base import Repository, new_id


@dataclass(frozen=True)
class ScheduledItem:
    id: int
    kind: str
    ref_id: int
    due_at: datetime
    done_at: datetime | None = None


def _item(row: tuple) -> ScheduledItem:
    return ScheduledItem(row[0], row[1], row[2], from_db(row[3]), from_db(row[4]))


# Scheduled rows hold only a kind, a random row id and a time: deleting them leaves nothing worth
# erasing from the WAL, so these deletes do not force a checkpoint (erases=False).
class Schedule(Repository):
    table = "scheduled"

    async def put(self, kind: str, ref_id: int, due_at: datetime) -> None:
        """Schedule (or move) the work; a row already done stays done, so work never repeats."""
        await self.session.run(
            "INSERT INTO scheduled (id, kind, ref_id, due_at, done_at) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT(kind, ref_id) DO UPDATE SET due_at = excluded.due_at WHERE scheduled.done_at IS NULL",
            (new_id(), kind, ref_id, to_db(due_at)),
        )

    async def put_many(self, work: list[tuple[str, int, datetime]]) -> None:
        """:meth:`put` for several (kind, ref_id, due_at) at once: one statement, one thread hop."""
        await self.session.run_many(
            "INSERT INTO scheduled (id, kind, ref_id, due_at, done_at) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT(kind, ref_id) DO UPDATE SET due_at = excluded.due_at WHERE scheduled.done_at IS NULL",
            [(new_id(), kind, ref_id, to_db(due_at)) for kind, ref_id, due_at in work],
        )

    async def postpone(self, kind: str, ref_id: int, due_at: datetime) -> None:
        """Put work back (done or not) to run later: used inside the job's own transaction, so marking it
        done and postponing commit together (e.g. a message held back while the bot is in lockdown)."""
        await self.session.run(
            "INSERT INTO scheduled (id, kind, ref_id, due_at, done_at) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT(kind, ref_id) DO UPDATE SET due_at = excluded.due_at, done_at = NULL",
            (new_id(), kind, ref_id, to_db(due_at)),
        )

    async def not_before(self, kind: str, moment: datetime) -> int:
        """Every pending row of this kind due before `moment` moves to `moment`."""
        return await self.session.run(
            "UPDATE scheduled SET due_at = ? WHERE kind = ? AND done_at IS NULL AND due_at < ?",
            (to_db(moment), kind, to_db(moment)),
        )

    async def cancel(self, kind: str, ref_id: int) -> bool:
        return await self.session.run(
            "DELETE FROM scheduled WHERE kind = ? AND ref_id = ? AND done_at IS NULL", (kind, ref_id), erases=False,
        ) == 1

    async def cancel_ref(self, ref_id: int, kinds: tuple[str, ...]) -> int:
        """Every pending row of these kinds for one object (a run cancelled, an assignment released)."""
        if not kinds:
            return 0
        return await self.session.run(
            f"DELETE FROM scheduled WHERE ref_id = ? AND done_at IS NULL AND kind IN ({','.join('?' * len(kinds))})",
            (ref_id, *kinds), erases=False,
        )

    async def due(self, now: datetime, limit: int = 200) -> list[ScheduledItem]:
        rows = await self.session.all(
            "SELECT id, kind, ref_id, due_at, done_at FROM scheduled WHERE done_at IS NULL AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_item(row) for row in rows]

    async def mark_done(self, item_id: int) -> bool:
        """False if someone already did it: the caller must then do nothing (exactly once)."""
        return await self.session.run(
            "UPDATE scheduled SET done_at = ? WHERE id = ? AND done_at IS NULL", (to_db(self.clock.now()), item_id)
        ) == 1

    async def pending(self) -> list[ScheduledItem]:
        rows = await self.session.all(
            "SELECT id, kind, ref_id, due_at, done_at FROM scheduled WHERE done_at IS NULL ORDER BY due_at, id"
        )
        return [_item(row) for row in rows]

    async def get(self, kind: str, ref_id: int) -> ScheduledItem | None:
        row = await self.session.one(
            "SELECT id, kind, ref_id, due_at, done_at FROM scheduled WHERE kind = ? AND ref_id = ?", (kind, ref_id)
        )
        return None if row is None else _item(row)

    async def erase_done_before(self, moment: datetime) -> int:
        return await self.session.run("DELETE FROM scheduled WHERE done_at IS NOT NULL AND done_at < ?",
                                      (to_db(moment),), erases=False)
