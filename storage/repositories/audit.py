"""Audit entries: who saw or changed what, sealed; only the time and the kind of event are plain."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_db, to_db
from bot.domain import AuditEntry
from storage.repositories.base import Repository, new_id


class Audit(Repository):
    table = "audit"

    async def add(self, action: str, *, actor_id: int | None, subject: str = "") -> None:
        entry_id = new_id()
        entry = {"actor": actor_id, "subject": subject}
        await self.session.run(
            "INSERT INTO audit (id, at, action, entry) VALUES (?, ?, ?, ?)",
            (entry_id, to_db(self.clock.now()), action, self.seal_json("entry", entry_id, entry)),
        )

    async def recent(self, limit: int = 30) -> list[AuditEntry]:
        rows = await self.session.all(
            "SELECT id, at, action, entry FROM audit ORDER BY at DESC, id LIMIT ?", (limit,)
        )
        entries = []
        for row in rows:
            entry = self.open_json("entry", row[0], row[3])
            entries.append(AuditEntry(id=row[0], at=from_db(row[1]), action=row[2], actor_id=entry["actor"],
                                      subject=entry["subject"]))
        return entries

    async def erase_before(self, moment: datetime) -> int:
        count = await self.session.run("DELETE FROM audit WHERE at < ?", (to_db(moment),))
        return count

    async def erase_actor(self, member_id: int) -> int:
        """Forget-me: entries whose actor is this member go (the actor is sealed, so read to find them)."""
        rows = await self.session.all("SELECT id, entry FROM audit")
        doomed = [(row[0],) for row in rows if self.open_json("entry", row[0], row[1])["actor"] == member_id]
        await self.session.run_many("DELETE FROM audit WHERE id = ?", doomed)
        if doomed:
            self.session.mark_erased()
        return len(doomed)
