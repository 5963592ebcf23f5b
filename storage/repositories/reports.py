"""Aggregates for the weekly digest, /report and `parcelbot stats`: counts only, one query per figure.

Nothing here opens a sealed column except the few member pseudonyms the digest names (missed
check-ins), through the members repository's own sealing. Area names are opened by the caller through
uow.areas. Times are UTC text as stored; the callers turn local days into UTC bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.clock import to_db
from storage.repositories.base import Repository

# A claim that was taken, whatever happened after (released claims were given back, so they do not count).
_CLAIMED_SQL = "('awaiting_approval', 'claimed', 'confirmed', 'reported', 'missed')"
_LIVE_SQL = "('awaiting_approval', 'claimed', 'confirmed', 'reported')"  # as in the assignments_live index
_UNCONFIRMED_SQL = "('awaiting_approval', 'claimed')"
# The Monday of the handover window's week (UTC date): 'weekday 0' moves to Sunday, then back six days.
_MONDAY = "date(r.window_start, 'weekday 0', '-6 days')"


@dataclass(frozen=True)
class RunFigures:
    planned: int = 0  # published, done or failed runs whose window starts in the period
    claimed: int = 0  # of those, runs someone claimed
    failed: int = 0


@dataclass(frozen=True)
class ParcelFigures:
    delivered: int = 0
    partly: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # reason code -> parcels
    not_gone: int = 0
    no_outcome: int = 0  # not reported (yet)


@dataclass(frozen=True)
class UpcomingFigures:
    unclaimed: int = 0  # published runs with a place still free
    unconfirmed: int = 0  # published runs with a claim not yet confirmed


@dataclass(frozen=True)
class RequestFigures:
    new: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class WeekOutcomes:
    """Parcels of one area in one week, by outcome ("delivered", "partly", "refused", "not_gone", "none")."""

    monday: date
    area_id: int | None
    outcome: str
    parcels: int


class Reports(Repository):
    table = "runs"

    async def run_figures(self, start: datetime, end: datetime) -> RunFigures:
        row = await self.session.one(
            "SELECT count(*), coalesce(sum(r.status = 'failed'), 0),"
            f" coalesce(sum(EXISTS (SELECT 1 FROM assignments a WHERE a.run_id = r.id AND a.status IN {_CLAIMED_SQL})),"
            " 0) FROM runs r WHERE r.status IN ('published', 'done', 'failed')"
            " AND r.window_start >= ? AND r.window_start < ?",
            (to_db(start), to_db(end)),
        )
        return RunFigures(planned=row[0], failed=row[1], claimed=row[2])

    async def parcel_figures(self, start: datetime, end: datetime) -> ParcelFigures:
        rows = await self.session.all(
            "SELECT coalesce(p.outcome, 'none'), coalesce(p.outcome_reason, ''), count(*)"
            " FROM parcels p JOIN runs r ON r.id = p.run_id"
            " WHERE r.status IN ('published', 'done', 'failed') AND r.window_start >= ? AND r.window_start < ?"
            " GROUP BY 1, 2",
            (to_db(start), to_db(end)),
        )
        totals: dict[str, int] = {}
        refused: dict[str, int] = {}
        for outcome, reason, count in rows:
            totals[outcome] = totals.get(outcome, 0) + count
            if outcome == "refused":
                refused[reason or "other"] = refused.get(reason or "other", 0) + count
        return ParcelFigures(delivered=totals.get("delivered", 0), partly=totals.get("partly", 0),
                             refused=dict(sorted(refused.items())), not_gone=totals.get("not_gone", 0),
                             no_outcome=totals.get("none", 0))

    async def upcoming_figures(self, start: datetime, end: datetime) -> UpcomingFigures:
        row = await self.session.one(
            "SELECT coalesce(sum(live < places), 0), coalesce(sum(unconfirmed), 0) FROM ("
            f" SELECT r.places AS places,"
            f" (SELECT count(*) FROM assignments a WHERE a.run_id = r.id AND a.status IN {_LIVE_SQL}) AS live,"
            f" EXISTS (SELECT 1 FROM assignments a WHERE a.run_id = r.id AND a.status IN {_UNCONFIRMED_SQL})"
            " AS unconfirmed FROM runs r WHERE r.status = 'published' AND r.window_start >= ? AND r.window_start < ?)",
            (to_db(start), to_db(end)),
        )
        return UpcomingFigures(unclaimed=row[0], unconfirmed=row[1])

    async def missed_checkins(self, start: datetime, end: datetime) -> tuple[int, list[int]]:
        """(missed assignments, distinct member ids) for runs whose window ended in the period."""
        rows = await self.session.all(
            "SELECT a.member_id, count(*) FROM assignments a JOIN runs r ON r.id = a.run_id"
            " WHERE a.status = 'missed' AND r.window_end >= ? AND r.window_end < ? GROUP BY a.member_id",
            (to_db(start), to_db(end)),
        )
        return sum(row[1] for row in rows), [row[0] for row in rows]

    async def request_figures(self, start: datetime, end: datetime) -> RequestFigures:
        row = await self.session.one(
            "SELECT coalesce(sum(created_at >= ? AND created_at < ?), 0), coalesce(sum(status = 'waiting'), 0)"
            " FROM family_requests",
            (to_db(start), to_db(end)),
        )
        return RequestFigures(new=row[0], waiting=row[1])

    async def active_volunteers(self, since: date) -> int:
        return await self.session.value(
            "SELECT count(*) FROM members WHERE role = 'volunteer' AND status = 'active' AND last_active_on >= ?",
            (since.isoformat(),),
        )

    async def live_week_outcomes(self, first_monday: date, end: datetime) -> list[WeekOutcomes]:
        """Parcels of runs still in the database, per area, week (Monday of the window) and outcome."""
        rows = await self.session.all(
            f"SELECT {_MONDAY}, f.area_id, coalesce(p.outcome, 'none'), count(*)"
            " FROM parcels p JOIN runs r ON r.id = p.run_id LEFT JOIN facilities f ON f.id = r.facility_id"
            f" WHERE r.status IN ('published', 'done', 'failed') AND {_MONDAY} >= ? AND r.window_start < ?"
            " GROUP BY 1, 2, 3",
            (first_monday.isoformat(), to_db(end)),
        )
        return [WeekOutcomes(date.fromisoformat(row[0]), row[1], row[2], row[3]) for row in rows]

    async def erased_week_outcomes(self, since_week: str) -> list[tuple[str, int | None, str, int]]:
        """What retention kept of erased runs: (week "YYYY-Www", area id, outcome, parcels) from `since_week`."""
        rows = await self.session.all(
            "SELECT w.week, f.area_id, w.outcome, sum(w.parcels) FROM weekly_counts w"
            " LEFT JOIN facilities f ON f.id = w.facility_id WHERE w.week >= ? GROUP BY 1, 2, 3",
            (since_week,),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def needs_by_category(self, fulfilled_since: datetime) -> dict[str, tuple[int, int]]:
        """category -> (open or planned now, fulfilled since the moment)."""
        rows = await self.session.all(
            "SELECT category, coalesce(sum(status IN ('open', 'planned')), 0),"
            " coalesce(sum(status = 'fulfilled' AND closed_at >= ?), 0) FROM needs GROUP BY category",
            (to_db(fulfilled_since),),
        )
        return {row[0]: (row[1], row[2]) for row in rows if row[1] or row[2]}
