"""Reports: the weekly digest's figures for a scripted week, the chart, /report, the Monday job, `stats --csv`."""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import FakeClock, to_db
from bot.domain import (
    AssignmentStatus,
    FacilityKind,
    FacilityRules,
    Member,
    MemberStatus,
    NeedCategory,
    NeedStatus,
    PrisonerStatus,
    RequestDetails,
    RequestStatus,
    Role,
)
from bot.i18n import translator
from bot.services import reports
from schedules import jobs
from storage.repositories.base import new_id
from storage.store import Store
from tests.conftest import PASSPHRASE
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[1]
MINSK = ZoneInfo("Europe/Minsk")
WEEK_START, DIGEST_DAY = date(2026, 11, 16), date(2026, 11, 23)  # the scripted Monday-to-Sunday, then the Monday
ALIASES = ("Linden 101", "Heron 202", "Sparrow 303", "Willow 404")
FULL_NAMES = ("Алеся Канарэйка-Тэст", "Maryna Canaryova", "Святлана Праверка", "Ina Testerova")


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=MINSK)


@dataclass
class Week:
    """What the scripted week made: ids for assertions, and the names that must never show."""

    areas: dict[str, int] = field(default_factory=dict)
    volunteers: dict[str, Member] = field(default_factory=dict)
    missed_pseudonym: str = ""


async def _run(uow, facility_id: int, day: date, status: str, places: int = 1) -> int:
    run_id = new_id()
    start = local(day)
    await uow.session.run(
        "INSERT INTO runs (id, code, facility_id, window_start, window_end, places, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, f"R-{run_id % 10**6:06d}", facility_id, to_db(start), to_db(start + timedelta(hours=3)), places,
         status, to_db(start - timedelta(days=5))),
    )
    return run_id


async def _parcels(uow, run_id: int, prisoner_id: int, *outcomes: tuple[str | None, str | None]) -> None:
    for outcome, reason in outcomes:
        await uow.session.run(
            "INSERT INTO parcels (id, run_id, prisoner_id, weight_g, categories, outcome, outcome_reason)"
            " VALUES (?, ?, ?, 3000, 'food', ?, ?)",
            (new_id(), run_id, prisoner_id, outcome, reason),
        )


async def _assign(uow, run_id: int, member: Member, status: AssignmentStatus) -> None:
    assignment = await uow.runs.add_assignment(run_id, member.id, AssignmentStatus.CLAIMED)
    await uow.session.run("UPDATE assignments SET status = ? WHERE id = ?", (status.value, assignment.id))


async def script_week(store: Store, clock: FakeClock) -> Week:
    """Two areas, three facilities, runs in every outcome, a missed check-in, needs, family requests.

    The expected figures for 16.11-22.11.2026 are spelled out in test_digest_counts_the_scripted_week_exactly."""
    week = Week()
    back_to = clock.now()
    clock.set(local(date(2026, 11, 10)))
    async with store.write() as uow:
        gomel, minsk = await uow.areas.add("Гомельская-тэст"), await uow.areas.add("Minsk-test")
        week.areas = {"gomel": gomel.id, "minsk": minsk.id}
        facilities = [
            await uow.facilities.add(kind=FacilityKind.COLONY, name=name, address="вул. Тэставая, 1", area_id=area,
                                     rules=FacilityRules(), effective_from=date(2026, 1, 1))
            for name, area in (("ИК-4-тэст", gomel.id), ("СИЗО-тэст", gomel.id), ("Colony-test", minsk.id))
        ]
        f1, f2, f3 = (facility.id for facility in facilities)
        people = [await uow.prisoners.add(alias=alias, full_name=name, birth_year=1980, facility_id=f1,
                                          status=PrisonerStatus.SENTENCED)
                  for alias, name in zip(ALIASES, FULL_NAMES, strict=True)]
        p1, p2, p3, p4 = (person.id for person in people)
        for prisoner_id, parcel_day in ((p1, "2026-11-17"), (p3, "2026-10-01"), (p4, "2026-11-18")):
            await uow.session.run("UPDATE prisoners SET last_parcel_on = ? WHERE id = ?", (parcel_day, prisoner_id))
        # Needs: food 1 open + 1 fulfilled, hygiene 1 open + 1 planned, vitamins 1 open, medicine 1 fulfilled,
        # clothes 1 cancelled (shown nowhere). P2 (never reached) and P3 (last parcel 01.10) are not reached.
        for prisoner_id, category, status in (
            (p1, NeedCategory.FOOD, NeedStatus.OPEN), (p1, NeedCategory.FOOD, NeedStatus.FULFILLED),
            (p2, NeedCategory.HYGIENE, NeedStatus.OPEN), (p2, NeedCategory.HYGIENE, NeedStatus.PLANNED),
            (p3, NeedCategory.VITAMINS, NeedStatus.OPEN), (p4, NeedCategory.MEDICINE, NeedStatus.FULFILLED),
            (p4, NeedCategory.CLOTHES, NeedStatus.CANCELLED),
        ):
            need = await uow.needs.add(prisoner_id=prisoner_id, category=category, weight_g=1000, details="тэст")
            if status is not NeedStatus.OPEN:
                await uow.needs.set_status([need.id], status)
        for key, status, active_on in (("birch", MemberStatus.ACTIVE, "2026-11-21"),
                                       ("heron", MemberStatus.ACTIVE, "2026-11-16"),
                                       ("quiet", MemberStatus.FROZEN, "2026-11-19"),
                                       ("idle", MemberStatus.ACTIVE, "2026-11-12")):
            member = await uow.members.add(role=Role.VOLUNTEER, status=status, telegram_user_id=new_id(),
                                           chat_id=new_id() % 10**9, pseudonym=f"Test {key.title()} 7",
                                           language="en")
            await uow.members.seen(member.id, date.fromisoformat(active_on))
            week.volunteers[key] = member
        birch, heron, quiet = week.volunteers["birch"], week.volunteers["heron"], week.volunteers["quiet"]
        week.missed_pseudonym = quiet.pseudonym

        # The week before: one delivered parcel (chart only) and a missed check-in (outside the digest).
        before = await _run(uow, f1, date(2026, 11, 10), "done")
        await _parcels(uow, before, p1, ("delivered", None))
        await _assign(uow, before, heron, AssignmentStatus.MISSED)
        # The scripted week.
        r1 = await _run(uow, f1, date(2026, 11, 17), "done", places=2)
        await _parcels(uow, r1, p1, ("delivered", None), ("delivered", None), ("refused", "allowance_used"))
        await _assign(uow, r1, birch, AssignmentStatus.REPORTED)
        await _assign(uow, r1, heron, AssignmentStatus.REPORTED)
        r2 = await _run(uow, f2, date(2026, 11, 18), "done")
        await _parcels(uow, r2, p4, ("partly", None), ("refused", "item_not_allowed"), ("refused", "allowance_used"))
        await _assign(uow, r2, birch, AssignmentStatus.REPORTED)
        r3 = await _run(uow, f3, date(2026, 11, 19), "failed")
        await _parcels(uow, r3, p2, ("not_gone", None), ("not_gone", None))
        await _assign(uow, r3, quiet, AssignmentStatus.MISSED)
        r4 = await _run(uow, f3, date(2026, 11, 20), "published")
        await _parcels(uow, r4, p3, (None, None))
        r5 = await _run(uow, f1, date(2026, 11, 21), "cancelled")
        await _parcels(uow, r5, p1, ("delivered", None))  # a cancelled run counts nowhere
        await _assign(uow, r5, birch, AssignmentStatus.RELEASED)
        await _run(uow, f2, date(2026, 11, 22), "draft")
        # The coming days (from Monday 23.11): U1 half claimed, U2 confirmed, U3 unclaimed, U4 too far ahead.
        u1 = await _run(uow, f1, date(2026, 11, 25), "published", places=2)
        await _assign(uow, u1, birch, AssignmentStatus.CLAIMED)
        u2 = await _run(uow, f2, date(2026, 11, 26), "published")
        await _assign(uow, u2, heron, AssignmentStatus.CONFIRMED)
        await _run(uow, f3, date(2026, 11, 27), "published")
        await _run(uow, f3, date(2026, 12, 5), "published")
        # What retention kept of erased runs: Minsk-test in the week of 05.10, and a facility since deleted.
        await uow.session.run_many(
            "INSERT INTO weekly_counts (facility_id, week, outcome, parcels) VALUES (?, ?, ?, ?)",
            [(f3, "2026-W40", "delivered", 4), (f3, "2026-W40", "refused", 1), (999, "2026-W42", "delivered", 1),
             (f3, "2025-W40", "delivered", 9)],  # a year ago: outside the 12 weeks
        )
    # Family requests: waiting from 18.11 and 20.11, declined from 19.11, accepted from 10.11 (the week before).
    for day, status in ((date(2026, 11, 10), RequestStatus.ACCEPTED), (date(2026, 11, 18), RequestStatus.WAITING),
                        (date(2026, 11, 19), RequestStatus.DECLINED), (date(2026, 11, 20), RequestStatus.WAITING)):
        clock.set(local(day))
        async with store.write() as uow:
            request = await uow.requests.add(None, RequestDetails(full_name="Тэст Тэставіч", birth_year=1990))
            if status is not RequestStatus.WAITING:
                await uow.requests.close(request.id, status)
    clock.set(back_to)
    return week


async def _coordinator(store: Store) -> Member:
    async with store.write() as uow:
        return await uow.members.add(role=Role.COORDINATOR, status=MemberStatus.ACTIVE, telegram_user_id=new_id(),
                                     chat_id=new_id() % 10**9, pseudonym="Test Coordinator 1", language="en")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# The digest's figures ---------------------------------------------------------------------------------


async def test_digest_counts_the_scripted_week_exactly(store, clock):
    # Given the scripted week and Monday 23.11 09:00 local
    week = await script_week(store, clock)
    clock.set(local(DIGEST_DAY, 9))
    coordinator = await _coordinator(store)
    # When the digest of the week before is built
    start, end = reports.week_before(DIGEST_DAY)
    digest = await reports.weekly_digest(store, coordinator, start, end, MINSK)
    # Then every figure is what the script made
    assert (digest.start, digest.end) == (WEEK_START, DIGEST_DAY)
    assert (digest.runs.planned, digest.runs.claimed, digest.runs.failed) == (4, 3, 1)
    parcels = digest.parcels
    assert (parcels.delivered, parcels.partly, parcels.not_gone, parcels.no_outcome) == (2, 1, 2, 1)
    assert parcels.refused == {"allowance_used": 2, "item_not_allowed": 1}
    assert (digest.upcoming.unclaimed, digest.upcoming.unconfirmed) == (2, 1)
    assert (digest.missed_checkins, digest.missed_pseudonyms) == (1, (week.missed_pseudonym,))
    assert digest.not_reached == 2
    assert (digest.requests.new, digest.requests.waiting) == (3, 2)
    assert digest.volunteers_active == 2


async def test_digest_text_names_only_pseudonyms_and_starts_neutral(store, clock):
    await script_week(store, clock)
    clock.set(local(DIGEST_DAY, 9))
    coordinator = await _coordinator(store)
    digest = await reports.weekly_digest(store, coordinator, *reports.week_before(DIGEST_DAY), MINSK)
    t = translator("en")
    text = "\n".join(reports.digest_lines(digest, t, t.day))
    assert text.splitlines()[0] == "Weekly summary: Mon, 16.11.2026 – Sun, 22.11.2026."
    assert "Runs: 4 planned, 3 claimed, 1 failed." in text
    assert "Parcels: 2 delivered, 1 partly, 3 refused, 2 not taken, 1 without a report." in text
    assert "Refused: Allowance used up 2, Item not allowed 1." in text
    assert "Missed check-ins: 1 (Test Quiet 7)." in text
    assert "Family requests: 3 new, 2 waiting." in text
    for secret in (*ALIASES, *FULL_NAMES, "ИК-4-тэст", "СИЗО-тэст", "Colony-test"):
        assert secret.casefold() not in text.casefold()
    assert "prisoner" not in text.splitlines()[0].casefold()  # the lock screen shows the first line
    for language in ("ru", "be"):  # every language builds the same lines without a placeholder error
        other = translator(language)
        assert len(reports.digest_lines(digest, other, other.day)) == len(text.splitlines())


async def test_a_volunteer_cannot_build_the_digest(store, clock):
    week = await script_week(store, clock)
    from bot.services.errors import NotAllowed

    try:
        await reports.weekly_digest(store, week.volunteers["birch"], WEEK_START, DIGEST_DAY, MINSK)
    except NotAllowed:
        return
    raise AssertionError("a volunteer got the digest")


# The chart --------------------------------------------------------------------------------------------


async def test_chart_adds_erased_counts_to_live_parcels_over_twelve_weeks(store, clock):
    week = await script_week(store, clock)
    figures = await reports.weekly_figures(store, DIGEST_DAY)
    assert len(figures.weeks) == 12 and figures.weeks[-1] == WEEK_START and figures.weeks[0] == date(2026, 8, 31)
    assert figures.areas == ("Minsk-test", "Гомельская-тэст", reports.NO_AREA)
    gomel, minsk = figures.delivered("Гомельская-тэст"), figures.delivered("Minsk-test")
    assert gomel[-1] == 3 and gomel[-2] == 1 and sum(gomel) == 4  # 2 delivered + 1 partly; the week before: 1
    assert minsk[figures.weeks.index(date(2026, 10, 5))] == 4 and sum(minsk) == 4  # from weekly_counts only
    assert figures.count(date(2026, 10, 5), "Minsk-test", ("refused",)) == 1
    assert sum(figures.delivered(reports.NO_AREA)) == 1  # the deleted facility's count still adds up
    assert figures.needs == {"food": (1, 1), "hygiene": (2, 0), "medicine": (0, 1), "vitamins": (1, 0)}
    assert set(week.areas) == {"gomel", "minsk"}


async def test_chart_is_a_png_of_800_by_600_from_the_scripted_week(store, clock):
    await script_week(store, clock)
    figures = await reports.weekly_figures(store, DIGEST_DAY)
    t = translator("be")
    png = reports.render_chart(figures, reports.chart_labels(t, {"food": "Ежа"}))
    width, height = png_size(png)
    assert abs(width - 800) <= 4 and abs(height - 600) <= 4
    assert len(png) > 5_000


def test_chart_renders_with_no_data_at_all():
    mondays = tuple(date(2026, 9, 7) + timedelta(weeks=i) for i in range(12))
    png = reports.render_chart(reports.WeeklyFigures(weeks=mondays, areas=()),
                               reports.chart_labels(translator("ru"), {}))
    assert png_size(png) == (800, 600)


def test_week_keys_split_by_new_year_map_to_one_monday():
    assert reports.week_monday("2026-W52") == reports.week_monday("2027-W00") == date(2026, 12, 28)
    assert reports.week_monday(date(2026, 11, 18).strftime("%Y-W%W")) == date(2026, 11, 16)


# /report through the fake Bot API ---------------------------------------------------------------------


async def test_report_sends_the_digest_then_a_protected_chart(bot: Harness):
    # Given a coordinator and the scripted week (the bot's clock: Monday 23.11, 12:00 local)
    await script_week(bot.store, bot.clock)
    coordinator = await bot.join(Role.COORDINATOR)
    # When the coordinator asks for the report
    await bot.send(coordinator, "/report")
    # Then the figures of the last seven days arrive, then the chart as a protected, silent photo
    text = bot.last_text(coordinator)
    assert text.startswith("Weekly summary: Tue, 17.11.2026 – Mon, 23.11.2026.")
    assert "Runs: 4 planned, 3 claimed, 1 failed." in text
    photos = [upload for upload in bot.api.uploads if upload["chat_id"] == coordinator.chat_id]
    assert len(photos) == 1 and photos[0]["method"] == "sendPhoto"
    assert png_size(photos[0]["content"]) == (800, 600) and len(photos[0]["content"]) > 5_000
    params = photos[0]["params"]
    assert str(params.get("protect_content")).lower() == "true"
    assert str(params.get("disable_notification")).lower() == "true"
    for secret in (*ALIASES, *FULL_NAMES):
        assert secret not in text
        assert secret not in bot.logs()


async def test_a_volunteers_report_gets_the_neutral_answer(bot: Harness):
    await script_week(bot.store, bot.clock)
    volunteer = await bot.join(Role.VOLUNTEER)
    async with bot.store.write() as uow:  # a volunteer with a finished profile, so the gate lets commands by
        member = await uow.members.by_telegram(volunteer.user_id)
        await uow.members.set_status(member.id, MemberStatus.ACTIVE)
    await bot.send(volunteer, "/report")
    assert bot.last_text(volunteer) == "I did not understand that. Send /help to see what you can do."
    assert bot.api.uploads == []


def test_report_is_in_the_coordinators_menu_only():
    from handlers.menu import MENU

    assert [roles for command, _, roles in MENU if command == "report"] == [(Role.COORDINATOR,)]


# The Monday job ---------------------------------------------------------------------------------------


async def test_digest_job_runs_once_on_monday_at_nine_also_in_lockdown(bot: Harness):
    # Given the scripted week, a coordinator, and lockdown on (the digest still goes to coordinators)
    await script_week(bot.store, bot.clock)
    coordinator = await bot.join(Role.COORDINATOR)
    bot.runtime.extras["lockdown"] = True
    async with bot.store.read() as uow:
        row = await uow.schedule.get("weekly_digest", 20261130)
    assert row is not None and row.due_at == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 09:00 in Minsk
    # When the clock reaches a minute before, nothing goes
    bot.clock.set(datetime(2026, 11, 30, 5, 59, tzinfo=UTC))
    await jobs.run_due(bot.application)
    assert bot.api.uploads == []
    # When it is Monday 09:00 local, the digest of 23.11-29.11 and its chart go once
    bot.clock.set(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    sent_before = len(bot.texts(coordinator))
    await jobs.run_due(bot.application)
    summaries = [text for text in bot.texts(coordinator)[sent_before:] if text.startswith("Weekly summary")]
    assert summaries == [summaries[0]] and summaries[0].startswith("Weekly summary: Mon, 23.11.2026 – Sun, 29.11.2026.")
    assert len(bot.api.uploads) == 1 and bot.api.uploads[0]["content"].startswith(b"\x89PNG")
    # And not twice, even after a restart; the next Monday is booked
    await jobs.run_due(bot.application)
    await bot.restart()
    await jobs.run_due(bot.application)
    assert sum(text.startswith("Weekly summary") for text in bot.texts(coordinator)) == 1
    assert len(bot.api.uploads) == 1
    async with bot.store.read() as uow:
        following = await uow.schedule.get("weekly_digest", 20261207)
    assert following is not None and following.done_at is None


def test_next_digest_honours_the_configured_weekday_and_time():
    from schedules.digest import next_digest

    monday_noon = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Minsk
    assert next_digest(monday_noon, MINSK, 0, "09:00") == datetime(2026, 11, 30, 9, 0, tzinfo=MINSK)
    assert next_digest(monday_noon, MINSK, 0, "13:30") == datetime(2026, 11, 23, 13, 30, tzinfo=MINSK)
    assert next_digest(monday_noon, MINSK, 4, "08:00") == datetime(2026, 11, 27, 8, 0, tzinfo=MINSK)


# `parcelbot stats` ------------------------------------------------------------------------------------


async def test_stats_csv_prints_the_same_aggregates_without_names(tmp_path):
    env = {**os.environ, "PARCELBOT_PASSPHRASE": PASSPHRASE, "PARCELBOT_KDF_COST": "10",
           "PARCELBOT_DATA_DIR": str(tmp_path / "data")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60, check=False)

    assert cli("init").returncode == 0
    # Given the scripted week placed in the past, so the CLI's real clock sees it within 12 weeks
    today = datetime.now(MINSK).date()  # the CLI's today, in the configured time zone
    offset = today - DIGEST_DAY
    offset -= timedelta(days=offset.days % 7)  # whole weeks keep every weekday and week key aligned
    store = await Store.unlock(tmp_path / "data" / "parcelbot.db", PASSPHRASE, clock=FakeClock())
    try:
        await script_week(store, store.clock)
        async with store.write() as uow:
            shift = f"{offset.days:+d} days"
            await uow.session.run("UPDATE runs SET window_start = strftime('%Y-%m-%dT%H:%M:%SZ', window_start, ?),"
                                  " window_end = strftime('%Y-%m-%dT%H:%M:%SZ', window_end, ?)", (shift, shift))
            await uow.session.run("DELETE FROM weekly_counts")
        expected = await reports.weekly_figures(store, reports.last_days(today)[1])
    finally:
        await store.close()
    # When the operator asks for CSV
    result = cli("stats", "--csv")
    # Then the header and rows are the chart's aggregates, and no name of a person or facility appears
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == reports.STATS_HEADER
    assert [tuple(row) for row in rows[1:]] == reports.stats_rows(expected)
    parcels = {(row[1], row[2]): row for row in rows[1:] if row[0] == "parcels"}
    scripted = (WEEK_START + offset).isoformat()
    assert parcels[(scripted, "Гомельская-тэст")][4:9] == ["2", "1", "3", "0", "0"]
    assert parcels[(scripted, "Minsk-test")][4:9] == ["0", "0", "0", "2", "1"]
    assert {row[3]: row[9:] for row in rows[1:] if row[0] == "needs"}["hygiene"] == ["2", "0"]
    for secret in (*ALIASES, *FULL_NAMES, "ИК-4-тэст", "Test Quiet 7"):
        assert secret not in result.stdout
    table = cli("stats")
    assert table.returncode == 0 and "Гомельская-тэст" in table.stdout and "," not in table.stdout.splitlines()[0]
