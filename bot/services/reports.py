"""Reports: the weekly digest, the 12-week chart and the operator's stats, built from aggregates only.

What leaves here: counts, area and category names, and the pseudonyms of volunteers who missed a
check-in (coordinators must act on those). Never a prisoner's alias or name, never a facility. Text is
built through the translator the caller passes in; the chart is PNG bytes from matplotlib's Agg backend.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain import Member
from bot.i18n import N_
from bot.services import prisoners as prisoner_service
from bot.services.facilities import require_coordinator
from storage.repositories.reports import ParcelFigures, RequestFigures, RunFigures, UpcomingFigures
from storage.store import Store

CHART_WEEKS = 12
UPCOMING_DAYS = 7
NO_AREA = ""  # facilities without an area, and counts whose facility was deleted
DELIVERED = ("delivered", "partly")  # a parcel that went in, even partly, reached the person
OUTCOMES = ("delivered", "partly", "refused", "not_gone", "none")
# The same ids as the volunteers' outcome buttons (handlers/run_reports.py), so they are translated once.
REFUSAL_LABELS = {
    "allowance_used": N_("Allowance used up"),
    "transferred": N_("Transferred"),
    "released": N_("Released"),
    "item_not_allowed": N_("Item not allowed"),
    "other": N_("Other reason"),
}
Translate = Callable[..., str]


@dataclass(frozen=True)
class WeeklyDigest:
    """One period's figures: local days [start, end), plus what is open now and in the next days."""

    start: date
    end: date
    runs: RunFigures
    parcels: ParcelFigures
    upcoming: UpcomingFigures
    missed_checkins: int
    missed_pseudonyms: tuple[str, ...]
    not_reached: int
    requests: RequestFigures
    volunteers_active: int


@dataclass(frozen=True)
class WeeklyFigures:
    """Parcels per week (Monday of the handover window) and area by outcome; needs per category."""

    weeks: tuple[date, ...]  # Mondays, oldest first
    areas: tuple[str, ...]  # area names with any parcel in these weeks; NO_AREA last
    parcels: dict[tuple[date, str], dict[str, int]] = field(default_factory=dict)
    needs: dict[str, tuple[int, int]] = field(default_factory=dict)  # category -> (open or planned, fulfilled)

    def count(self, week: date, area: str, outcomes: tuple[str, ...]) -> int:
        by_outcome = self.parcels.get((week, area), {})
        return sum(by_outcome.get(outcome, 0) for outcome in outcomes)

    def delivered(self, area: str) -> list[int]:
        return [self.count(week, area, DELIVERED) for week in self.weeks]


@dataclass(frozen=True)
class ChartLabels:
    """Every word on the chart, already translated (the renderer runs in a worker thread)."""

    weekly_title: str
    needs_title: str
    parcels_axis: str
    open: str
    fulfilled: str
    nothing: str
    no_area: str
    categories: Mapping[str, str] = field(default_factory=dict)


# Periods ----------------------------------------------------------------------------------------------


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def last_days(today: date, days: int = 7) -> tuple[date, date]:
    """The `days` local days up to and including today: what /report covers."""
    return today - timedelta(days=days - 1), today + timedelta(days=1)


def week_before(day: date) -> tuple[date, date]:
    """The seven days before `day`: what the Monday digest covers (Monday to Sunday)."""
    return day - timedelta(days=7), day


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_monday(key: str) -> date:
    """weekly_counts' "YYYY-Www" (strftime %W, Monday-based) -> that week's Monday; both halves of a week
    split by New Year ("2026-W52", "2027-W00") give the same Monday."""
    return datetime.strptime(key + "-1", "%Y-W%W-%w").date()


# Use cases --------------------------------------------------------------------------------------------


async def weekly_digest(store: Store, actor: Member, start: date, end: date, tz: tzinfo) -> WeeklyDigest:
    """The digest's figures for local days [start, end); one query per figure, one read transaction."""
    require_coordinator(actor)
    since, until = local_midnight(start, tz), local_midnight(end, tz)
    now = store.clock.now()
    async with store.read() as uow:
        runs = await uow.reports.run_figures(since, until)
        parcels = await uow.reports.parcel_figures(since, until)
        upcoming = await uow.reports.upcoming_figures(now, now + timedelta(days=UPCOMING_DAYS))
        missed, member_ids = await uow.reports.missed_checkins(since, until)
        requests = await uow.reports.request_figures(since, until)
        active = await uow.reports.active_volunteers(start)
        members = [await uow.members.get(member_id) for member_id in member_ids]  # a handful at most
    pseudonyms = tuple(sorted((m.pseudonym for m in members if m is not None), key=str.casefold))
    today = now.astimezone(tz).date()
    waiting = await prisoner_service.not_reached(store, actor, today)
    return WeeklyDigest(start=start, end=end, runs=runs, parcels=parcels, upcoming=upcoming, missed_checkins=missed,
                        missed_pseudonyms=pseudonyms, not_reached=len(waiting), requests=requests,
                        volunteers_active=active)


async def chart_figures(store: Store, actor: Member, end: date, tz: tzinfo) -> WeeklyFigures:
    """What the coordinators' chart shows: the 12 weeks up to the week of the day before `end`."""
    require_coordinator(actor)
    return await weekly_figures(store, end)


async def weekly_figures(store: Store, end: date, weeks: int = CHART_WEEKS) -> WeeklyFigures:
    """Live parcels plus what retention kept of erased runs, per area and week; needs per category.

    Also what `parcelbot stats` prints for the operator, who holds the passphrase anyway.
    Weeks are taken from the handover window's UTC date, as retention's weekly_counts are."""
    last = monday_of(end - timedelta(days=1))
    mondays = tuple(last - timedelta(weeks=weeks - 1 - i) for i in range(weeks))
    first = mondays[0]
    async with store.read() as uow:
        live = await uow.reports.live_week_outcomes(first, datetime.combine(last + timedelta(days=7), time(0), UTC))
        erased = await uow.reports.erased_week_outcomes((first - timedelta(days=7)).strftime("%Y-W%W"))
        needs = await uow.reports.needs_by_category(datetime.combine(first, time(0), UTC))
        names = {area.id: area.name for area in await uow.areas.list()}
    wanted = set(mondays)
    parcels: dict[tuple[date, str], dict[str, int]] = {}

    def add(monday: date, area_id: int | None, outcome: str, count: int) -> None:
        if monday in wanted and count:
            cell = parcels.setdefault((monday, names.get(area_id, NO_AREA)), {})
            cell[outcome] = cell.get(outcome, 0) + count

    for row in live:
        add(row.monday, row.area_id, row.outcome, row.parcels)
    for key, area_id, outcome, count in erased:
        add(week_monday(key), area_id, outcome, count)
    areas = sorted({area for _, area in parcels}, key=lambda name: (name == NO_AREA, name.casefold()))
    return WeeklyFigures(weeks=mondays, areas=tuple(areas), parcels=parcels, needs=dict(sorted(needs.items())))


# Text -------------------------------------------------------------------------------------------------


def digest_lines(digest: WeeklyDigest, t: Translate, day: Callable[[date], str]) -> list[str]:
    """The digest as short lines in the reader's language; the first line is neutral (lock screens)."""
    parcels, runs, upcoming, requests = digest.parcels, digest.runs, digest.upcoming, digest.requests
    lines = [
        t("Weekly summary: {start} – {end}.", start=day(digest.start), end=day(digest.end - timedelta(days=1))),
        t("Runs: {planned} planned, {claimed} claimed, {failed} failed.", planned=runs.planned,
          claimed=runs.claimed, failed=runs.failed),
        t("Parcels: {delivered} delivered, {partly} partly, {refused} refused, {not_gone} not taken, "
          "{pending} without a report.", delivered=parcels.delivered, partly=parcels.partly,
          refused=sum(parcels.refused.values()), not_gone=parcels.not_gone, pending=parcels.no_outcome),
    ]
    if parcels.refused:
        reasons = ", ".join(f"{t(REFUSAL_LABELS.get(reason, REFUSAL_LABELS['other']))} {count}"
                            for reason, count in parcels.refused.items())
        lines.append(t("Refused: {reasons}.", reasons=reasons))
    lines.append(t("Next {days} days: runs with a free place {unclaimed}, not confirmed {unconfirmed}.",
                   days=UPCOMING_DAYS, unclaimed=upcoming.unclaimed, unconfirmed=upcoming.unconfirmed))
    if digest.missed_checkins:
        lines.append(t("Missed check-ins: {count} ({pseudonyms}).", count=digest.missed_checkins,
                       pseudonyms=", ".join(digest.missed_pseudonyms)))
    else:
        lines.append(t("Missed check-ins: none."))
    lines += [
        t("Not reached for {weeks} weeks or more: {count}. See /prisoners.", weeks=prisoner_service.NOT_REACHED_WEEKS,
          count=digest.not_reached),
        t("Family requests: {new} new, {waiting} waiting. See /requests.", new=requests.new, waiting=requests.waiting),
        t("Volunteers active: {count}.", count=digest.volunteers_active),
    ]
    return lines


def chart_labels(t: Translate, categories: Mapping[str, str]) -> ChartLabels:
    """`categories` maps a category to its shown name, already translated."""
    return ChartLabels(
        weekly_title=t("Parcels delivered per week, by area"),
        needs_title=t("Needs by category"),
        parcels_axis=t("Parcels"),
        open=t("Open or planned"),
        fulfilled=t("Fulfilled in these weeks"),
        nothing=t("Nothing yet"),
        no_area=t("No area"),
        categories=dict(categories),
    )


# Chart ------------------------------------------------------------------------------------------------


def render_chart(figures: WeeklyFigures, labels: ChartLabels) -> bytes:
    """An 800x600 PNG: stacked weekly deliveries per area above, open vs fulfilled needs below.

    CPU-bound (about half a second): call it through asyncio.to_thread. The object-oriented Figure API
    keeps nothing in pyplot's global registry, so concurrent renders do not share state and nothing
    is left open afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 6), dpi=100)
    weekly, needs = figure.subplots(2, 1, gridspec_kw={"height_ratios": (3, 2)})
    positions = list(range(len(figures.weeks)))
    stacked = [0] * len(positions)
    for area in figures.areas:
        values = figures.delivered(area)
        weekly.bar(positions, values, bottom=stacked, label=area or labels.no_area)
        stacked = [low + value for low, value in zip(stacked, values, strict=True)]
    weekly.set_xticks(positions, [monday.strftime("%d.%m") for monday in figures.weeks], fontsize=8)
    weekly.set_title(labels.weekly_title, fontsize=11)
    weekly.set_ylabel(labels.parcels_axis)
    weekly.yaxis.set_major_locator(MaxNLocator(integer=True))
    weekly.set_ylim(0, max(1, *stacked) * 1.3)  # headroom: the legend sits above the bars
    if figures.areas:
        weekly.legend(fontsize=8, loc="upper left", ncol=min(4, len(figures.areas)))
    else:
        weekly.text(0.5, 0.5, labels.nothing, ha="center", va="center", transform=weekly.transAxes)

    categories = list(figures.needs)
    rows = list(range(len(categories)))
    height = 0.4
    needs.barh([row - height / 2 for row in rows], [figures.needs[c][0] for c in categories], height,
               label=labels.open)
    needs.barh([row + height / 2 for row in rows], [figures.needs[c][1] for c in categories], height,
               label=labels.fulfilled)
    needs.set_yticks(rows, [labels.categories.get(c, c) for c in categories], fontsize=8)
    needs.invert_yaxis()
    needs.set_title(labels.needs_title, fontsize=11)
    needs.xaxis.set_major_locator(MaxNLocator(integer=True))
    if categories:
        needs.legend(fontsize=8, loc="lower right")
    else:
        needs.text(0.5, 0.5, labels.nothing, ha="center", va="center", transform=needs.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# The operator's table ---------------------------------------------------------------------------------

STATS_HEADER = ("table", "week", "area", "category", *OUTCOMES, "open", "fulfilled")


def stats_rows(figures: WeeklyFigures) -> list[tuple[str, ...]]:
    """Rows under STATS_HEADER: parcels per week and area (weeks with none are skipped), then needs."""
    rows: list[tuple[str, ...]] = []
    for week in figures.weeks:
        for area in figures.areas:
            counts = [figures.count(week, area, (outcome,)) for outcome in OUTCOMES]
            if any(counts):
                rows.append(("parcels", week.isoformat(), area or "-", "", *map(str, counts), "", ""))
    for category, (still_open, fulfilled) in figures.needs.items():
        rows.append(("needs", "", "", category, *([""] * len(OUTCOMES)), str(still_open), str(fulfilled)))
    return rows
