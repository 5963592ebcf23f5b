"""Erasure by age: the SQL behind the retention job. Counts are kept before details go."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db
from storage.repositories.base import Repository

# ISO-like week of the handover window, e.g. "2026-W47"; what weekly_counts is keyed by.
_WEEK = "strftime('%Y-W%W', r.window_start)"


class Retention(Repository):
    table = "runs"

    async def finished_runs_before(self, before: datetime) -> list[int]:
        rows = await self.session.all(
            "SELECT id FROM runs WHERE status IN ('done', 'failed', 'cancelled')"
            " AND coalesce(closed_at, window_end) < ?",
            (to_db(before),),
        )
        return [row[0] for row in rows]

    async def unreported_runs_before(self, before: datetime) -> list[int]:
        """Published runs whose window ended before `before`: nobody reported them (a volunteer said
        only "I'm safe", or missed the check-in, or nobody claimed them)."""
        rows = await self.session.all(
            "SELECT id FROM runs WHERE status = 'published' AND window_end < ?", (to_db(before),)
        )
        return [row[0] for row in rows]

    async def count_and_erase_runs(self, run_ids: list[int]) -> None:
        """Add the runs' parcels to weekly_counts, then delete the runs (parcels and assignments cascade)."""
        marks = ",".join("?" * len(run_ids))
        await self.session.run(
            f"INSERT INTO weekly_counts (facility_id, week, outcome, parcels)"
            f" SELECT r.facility_id, {_WEEK}, coalesce(p.outcome, 'none'), count(*)"
            f" FROM parcels p JOIN runs r ON r.id = p.run_id WHERE r.id IN ({marks})"
            f" GROUP BY r.facility_id, {_WEEK}, coalesce(p.outcome, 'none')"
            " ON CONFLICT(facility_id, week, outcome) DO UPDATE SET parcels = parcels + excluded.parcels",
            run_ids,
        )
        await self.session.run(f"DELETE FROM tracked_messages WHERE run_id IN ({marks})", run_ids)
        await self.session.run(f"DELETE FROM scheduled WHERE ref_id IN ({marks})", run_ids)
        await self.session.run(f"DELETE FROM runs WHERE id IN ({marks})", run_ids)
        self.session.mark_erased()

    async def erase_unfinished_registrations(self, before: datetime) -> int:
        """Volunteers who registered but never finished their profile."""
        return await self.session.run(
            "DELETE FROM members WHERE status = 'pending' AND created_at < ?", (to_db(before),)
        )

    async def weekly_counts(self) -> list[tuple[int | None, str, str, int]]:
        return [tuple(row) for row in await self.session.all(
            "SELECT facility_id, week, outcome, parcels FROM weekly_counts ORDER BY week, facility_id, outcome"
        )]
