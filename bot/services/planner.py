"""The weekly planner: open needs -> draft runs. Pure: plain values in, plain values out, no I/O.

Rules, in the order they apply:
- a prisoner gets at most one parcel a week; it takes their needs urgent first, then oldest, as long
  as the allowance admits the total weight and categories (a need that does not fit is skipped and
  stays open for a later week);
- prisoners who have waited longest go first: never reached, then the oldest last parcel, then the
  earliest need, then the id (so ties are broken the same way every time);
- parcels go into the facility's first handover window of the week; a run carries at most
  MAX_PARCELS_PER_RUN parcels and MAX_WEIGHT_G_PER_RUN grams; the next parcels go to the next window
  of the week, and after the last window to a further run in the first window, and so on, up to
  `runs_per_window` runs per window. What does not fit stays open; those prisoners then rank first
  next week, because their last parcel is older still.

Every input is sorted by id before use, so the same values in any order give the same plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import Allowance, HandoverWindow, Urgency

MAX_PARCELS_PER_RUN = 6
MAX_WEIGHT_G_PER_RUN = 30_000
RUNS_PER_WINDOW = 2


@dataclass(frozen=True)
class PlanFacility:
    id: int
    area_id: int | None
    windows: tuple[HandoverWindow, ...]
    places: int


@dataclass(frozen=True)
class PlanNeed:
    id: int
    prisoner_id: int
    category: str
    weight_g: int
    urgency: str
    created_at: datetime
    due_on: date | None = None


@dataclass(frozen=True)
class PlanPrisoner:
    id: int
    facility_id: int | None
    last_parcel_on: date | None
    allowance: Allowance


@dataclass(frozen=True)
class DraftParcel:
    prisoner_id: int
    need_ids: tuple[int, ...]
    weight_g: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class DraftRun:
    facility_id: int
    window_start: datetime  # UTC
    window_end: datetime  # UTC
    places: int
    parcels: tuple[DraftParcel, ...]

    @property
    def weight_g(self) -> int:
        return sum(parcel.weight_g for parcel in self.parcels)


def week_windows(week_start: date, windows: Iterable[HandoverWindow], tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The facility's handover windows in the week starting on `week_start`, in UTC, in time order.

    Malformed or empty windows (end not after start) are ignored rather than planned into."""
    slots = set()
    for window in windows:
        try:
            start, end = time.fromisoformat(window.start), time.fromisoformat(window.end)
        except (TypeError, ValueError):
            continue
        if not 0 <= window.weekday <= 6 or end <= start:
            continue
        day = week_start + timedelta(days=window.weekday)
        slots.add((datetime.combine(day, start, tz).astimezone(UTC), datetime.combine(day, end, tz).astimezone(UTC)))
    return sorted(slots)


def _need_order(need: PlanNeed) -> tuple:
    return (need.urgency != Urgency.URGENT, need.created_at, need.id)


def compose_parcel(prisoner: PlanPrisoner, needs: list[PlanNeed], on: date) -> DraftParcel | None:
    """The prisoner's parcel from their needs in priority order; None when nothing fits."""
    taken: list[int] = []
    weight = 0
    categories: set[str] = set()
    for need in sorted(needs, key=_need_order):
        if need.weight_g < 0:
            continue
        new_weight = weight + need.weight_g
        new_categories = categories | {need.category}
        if new_weight > MAX_WEIGHT_G_PER_RUN:
            continue
        if prisoner.allowance.refusal(new_weight, frozenset(new_categories), on) is not None:
            continue
        taken.append(need.id)
        weight, categories = new_weight, new_categories
    if not taken:
        return None
    return DraftParcel(prisoner.id, tuple(taken), weight, tuple(sorted(categories)))


def _waiting_order(prisoner: PlanPrisoner, needs: list[PlanNeed]) -> tuple:
    """Longest-waiting first: never reached, then the oldest last parcel, then the earliest need, then id."""
    earliest_need = min(need.created_at for need in needs)
    return (prisoner.last_parcel_on is not None, prisoner.last_parcel_on or date.min, earliest_need, prisoner.id)


def _slot_sequence(slots: list[tuple[datetime, datetime]], runs_per_window: int) -> list[tuple[datetime, datetime]]:
    """One run per window in time order, then a second round, and so on."""
    return [slot for _ in range(runs_per_window) for slot in slots]


def _pack(facility: PlanFacility, slots: list[tuple[datetime, datetime]], parcels: list[DraftParcel],
          runs_per_window: int) -> list[DraftRun]:
    """Next-fit in priority order: a parcel that does not fit closes the current run."""
    places = min(max(facility.places, 1), 2)
    sequence = iter(_slot_sequence(slots, runs_per_window))
    runs: list[DraftRun] = []
    slot = next(sequence, None)
    current: list[DraftParcel] = []
    weight = 0
    for parcel in parcels:
        if slot is None:
            break
        if current and (len(current) >= MAX_PARCELS_PER_RUN or weight + parcel.weight_g > MAX_WEIGHT_G_PER_RUN):
            runs.append(DraftRun(facility.id, slot[0], slot[1], places, tuple(current)))
            current, weight = [], 0
            slot = next(sequence, None)
            if slot is None:
                break
        current.append(parcel)
        weight += parcel.weight_g
    if current and slot is not None:
        runs.append(DraftRun(facility.id, slot[0], slot[1], places, tuple(current)))
    return runs


def plan_week(
    week_start: date,
    facilities: Iterable[PlanFacility],
    prisoners: Iterable[PlanPrisoner],
    needs: Iterable[PlanNeed],
    tz: ZoneInfo,
    *,
    runs_per_window: int = RUNS_PER_WINDOW,
) -> list[DraftRun]:
    """Draft runs for the week starting on `week_start` (a Monday), ordered by window, then facility."""
    facility_by_id = {facility.id: facility for facility in facilities}
    prisoner_by_id = {prisoner.id: prisoner for prisoner in prisoners}
    needs_of: dict[int, list[PlanNeed]] = defaultdict(list)
    for need in needs:
        if need.prisoner_id in prisoner_by_id:
            needs_of[need.prisoner_id].append(need)

    waiting: dict[int, list[tuple[tuple, PlanPrisoner]]] = defaultdict(list)
    for prisoner_id in sorted(needs_of):
        prisoner = prisoner_by_id[prisoner_id]
        if prisoner.facility_id in facility_by_id:
            waiting[prisoner.facility_id].append((_waiting_order(prisoner, needs_of[prisoner_id]), prisoner))

    runs: list[DraftRun] = []
    for facility_id in sorted(waiting):
        facility = facility_by_id[facility_id]
        slots = week_windows(week_start, facility.windows, tz)
        if not slots:
            continue
        # The allowance is checked on the first window's day: a later window is never earlier, so a
        # suspension that covers the first day is respected on every day the parcel could go.
        first_day = slots[0][0].astimezone(tz).date()
        parcels = []
        for _, prisoner in sorted(waiting[facility_id], key=lambda pair: pair[0]):
            parcel = compose_parcel(prisoner, needs_of[prisoner.id], first_day)
            if parcel is not None:
                parcels.append(parcel)
        runs.extend(_pack(facility, slots, parcels, runs_per_window))
    runs.sort(key=lambda run: (run.window_start, run.facility_id))
    return runs
