"""The weekly planner: unit cases for each rule, then Hypothesis properties over random weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Allowance, HandoverWindow
from bot.services.planner import (
    MAX_PARCELS_PER_RUN,
    MAX_WEIGHT_G_PER_RUN,
    PlanFacility,
    PlanNeed,
    PlanPrisoner,
    compose_parcel,
    plan_week,
)

MINSK = ZoneInfo("Europe/Minsk")
MONDAY = date(2026, 11, 30)
THURSDAY_MORNING = HandoverWindow(3, "09:00", "13:00")
SATURDAY_MORNING = HandoverWindow(5, "10:00", "17:00")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def facility(fid: int = 1, *windows: HandoverWindow, places: int = 1) -> PlanFacility:
    return PlanFacility(fid, area_id=10, windows=windows or (THURSDAY_MORNING,), places=places)


def prisoner(pid: int, fid: int = 1, last: date | None = None, **allowance) -> PlanPrisoner:
    return PlanPrisoner(pid, fid, last, Allowance(on=MONDAY, **allowance))


def need(nid: int, pid: int, category: str = "food", weight_g: int = 1000, urgency: str = "normal",
         age_days: int = 0) -> PlanNeed:
    return PlanNeed(nid, pid, category, weight_g, urgency, T0 - timedelta(days=age_days), None)


# Unit cases -----------------------------------------------------------------------------------------


def test_a_parcel_takes_urgent_needs_first_then_the_oldest_within_the_weight_left():
    # Given 5 kg left this month and needs of 3 kg (old), 2 kg (urgent, new) and 2 kg (older)
    who = prisoner(1, kg_left_month=5.0)
    needs = [need(11, 1, weight_g=3000, age_days=5), need(12, 1, weight_g=2000, urgency="urgent"),
             need(13, 1, weight_g=2000, age_days=9)]
    # When the parcel is composed
    parcel = compose_parcel(who, needs, MONDAY)
    # Then the urgent need goes first, then the oldest; the 3 kg one no longer fits and stays open
    assert parcel is not None and parcel.need_ids == (12, 13) and parcel.weight_g == 4000


def test_a_refused_category_is_skipped_and_the_rest_still_goes():
    who = prisoner(1, refused_categories=frozenset({"hygiene"}))
    plan = plan_week(MONDAY, [facility()], [who], [need(11, 1, "hygiene"), need(12, 1, "food")], MINSK)
    assert [parcel.need_ids for run in plan for parcel in run.parcels] == [(12,)]


def test_money_goes_when_no_parcel_is_left_and_weighs_nothing():
    # Given no parcel left this year and 1 kg left this month, a food need and money to pay in
    who = prisoner(1, parcels_left_year=0, kg_left_month=1.0)
    needs = [need(11, 1, "food", age_days=3), need(12, 1, "money", weight_g=0)]
    # When the week is planned, the money still goes (it is not a parcel); the food waits
    plan = plan_week(MONDAY, [facility()], [who], needs, MINSK)
    assert [(parcel.need_ids, parcel.weight_g, parcel.categories) for run in plan for parcel in run.parcels] == [
        ((12,), 0, ("money",))]


def test_a_suspended_prisoner_gets_nothing():
    who = prisoner(1, suspended_until=MONDAY + timedelta(days=30))
    assert plan_week(MONDAY, [facility()], [who], [need(11, 1)], MINSK) == []


def test_a_suspension_that_ends_before_the_window_does_not_stop_the_parcel():
    who = prisoner(1, suspended_until=MONDAY + timedelta(days=1))
    assert len(plan_week(MONDAY, [facility()], [who], [need(11, 1)], MINSK)) == 1


def test_windows_are_planned_in_utc_from_the_local_handover_hours():
    plan = plan_week(MONDAY, [facility(1, THURSDAY_MORNING)], [prisoner(1)], [need(11, 1)], MINSK)
    assert plan[0].window_start == datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 09:00 in Minsk (UTC+3)
    assert plan[0].window_end == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_a_seventh_parcel_goes_to_the_next_window_of_the_week():
    people = [prisoner(i) for i in range(1, 8)]
    needs = [need(100 + i, i) for i in range(1, 8)]
    plan = plan_week(MONDAY, [facility(1, SATURDAY_MORNING, THURSDAY_MORNING)], people, needs, MINSK)
    assert [len(run.parcels) for run in plan] == [6, 1]
    assert plan[0].window_start.weekday() == 3 and plan[1].window_start.weekday() == 5


def test_with_one_window_the_overflow_becomes_a_second_run_in_the_same_window():
    people = [prisoner(i) for i in range(1, 9)]
    needs = [need(100 + i, i) for i in range(1, 9)]
    plan = plan_week(MONDAY, [facility()], people, needs, MINSK)
    assert [len(run.parcels) for run in plan] == [6, 2]
    assert plan[0].window_start == plan[1].window_start


def test_a_run_never_carries_more_than_thirty_kilograms():
    people = [prisoner(i) for i in range(1, 5)]
    needs = [need(100 + i, i, weight_g=9000) for i in range(1, 5)]
    plan = plan_week(MONDAY, [facility()], people, needs, MINSK)
    assert [len(run.parcels) for run in plan] == [3, 1]
    assert all(run.weight_g <= MAX_WEIGHT_G_PER_RUN for run in plan)


def test_when_places_are_short_those_who_waited_longest_go_first():
    # Given one window, one run, and eight prisoners with different waits
    people = [prisoner(1, last=date(2026, 11, 20)), prisoner(2), prisoner(3, last=date(2026, 6, 1)),
              prisoner(4, last=date(2026, 10, 1)), prisoner(5), prisoner(6, last=date(2026, 11, 25)),
              prisoner(7, last=date(2026, 9, 1)), prisoner(8, last=date(2026, 11, 1))]
    needs = [need(100 + i, i, age_days=i) for i in range(1, 9)]
    # When the week is planned with room for six
    plan = plan_week(MONDAY, [facility()], people, needs, MINSK, runs_per_window=1)
    # Then the never-reached come first (older need first), then the oldest last parcels
    assert [parcel.prisoner_id for parcel in plan[0].parcels] == [5, 2, 3, 7, 4, 8]


def test_a_facility_without_windows_plans_nothing_and_leaves_the_needs_open():
    empty = PlanFacility(1, 10, (), 1)
    assert plan_week(MONDAY, [empty], [prisoner(1)], [need(11, 1)], MINSK) == []


def test_places_come_from_the_facility_and_stay_between_one_and_two():
    plan = plan_week(MONDAY, [facility(1, places=2)], [prisoner(1)], [need(11, 1)], MINSK)
    assert plan[0].places == 2


# Properties -----------------------------------------------------------------------------------------

windows = st.builds(HandoverWindow, st.integers(0, 6), st.sampled_from(["08:00", "09:00", "14:00"]),
                    st.sampled_from(["12:00", "13:00", "18:00"]))
categories = st.sampled_from(["food", "hygiene", "vitamins", "medicine", "clothes", "money"])


@st.composite
def weeks(draw):
    facility_ids = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True))
    facilities = [PlanFacility(fid, 10, tuple(draw(st.lists(windows, max_size=3))), draw(st.integers(1, 2)))
                  for fid in facility_ids]
    people = []
    for pid in draw(st.lists(st.integers(1, 40), max_size=25, unique=True)):
        allowance = Allowance(
            on=MONDAY,
            kg_left_month=draw(st.none() | st.floats(0, 40, allow_nan=False).map(lambda kg: round(kg, 1))),
            parcels_left_year=draw(st.none() | st.integers(0, 3)),
            suspended_until=draw(st.none() | st.dates(MONDAY - timedelta(days=10), MONDAY + timedelta(days=10))),
            refused_categories=frozenset(draw(st.lists(categories, max_size=2))),
        )
        last = draw(st.none() | st.dates(date(2026, 1, 1), date(2026, 11, 29)))
        people.append(PlanPrisoner(pid, draw(st.sampled_from([*facility_ids, None])), last, allowance))
    needs = []
    if people:
        for nid in draw(st.lists(st.integers(1, 500), max_size=60, unique=True)):
            needs.append(PlanNeed(nid, draw(st.sampled_from(people)).id, draw(categories),
                                  draw(st.integers(0, 12_000)), draw(st.sampled_from(["normal", "urgent"])),
                                  T0 - timedelta(hours=draw(st.integers(0, 2000))), None))
    return facilities, people, needs


@settings(max_examples=150, deadline=None)
@given(weeks(), st.integers(1, 3))
def test_no_parcel_exceeds_an_allowance_or_goes_to_a_suspended_prisoner(week, runs_per_window):
    facilities, people, needs = week
    by_id = {person.id: person for person in people}
    for run in plan_week(MONDAY, facilities, people, needs, MINSK, runs_per_window=runs_per_window):
        day = run.window_start.astimezone(MINSK).date()
        assert len(run.parcels) <= MAX_PARCELS_PER_RUN and run.weight_g <= MAX_WEIGHT_G_PER_RUN
        for parcel in run.parcels:
            allowance = by_id[parcel.prisoner_id].allowance
            assert allowance.refusal(parcel.weight_g, parcel.categories, day) is None
            assert allowance.suspended_until is None or allowance.suspended_until < day
            assert by_id[parcel.prisoner_id].facility_id == run.facility_id


@settings(max_examples=150, deadline=None)
@given(weeks())
def test_every_planned_need_is_in_exactly_one_parcel_and_every_parcel_in_one_run(week):
    facilities, people, needs = week
    plan = plan_week(MONDAY, facilities, people, needs, MINSK)
    need_owner = {item.id: item.prisoner_id for item in needs}
    planned = [nid for run in plan for parcel in run.parcels for nid in parcel.need_ids]
    assert len(planned) == len(set(planned))
    parcels = [parcel for run in plan for parcel in run.parcels]
    assert len({parcel.prisoner_id for parcel in parcels}) == len(parcels)  # one parcel a week each
    for parcel in parcels:
        assert all(need_owner[nid] == parcel.prisoner_id for nid in parcel.need_ids)
        weights = {item.id: item.weight_g for item in needs}
        assert parcel.weight_g == sum(weights[nid] for nid in parcel.need_ids)


@settings(max_examples=100, deadline=None)
@given(weeks(), st.randoms(use_true_random=False))
def test_the_same_week_in_any_order_gives_the_same_plan(week, rnd):
    facilities, people, needs = week
    first = plan_week(MONDAY, facilities, people, needs, MINSK)
    for items in (facilities, people, needs):
        rnd.shuffle(items)
    assert plan_week(MONDAY, facilities, people, needs, MINSK) == first


def _waited(person: PlanPrisoner, needs: list[PlanNeed]) -> tuple:
    return (person.last_parcel_on is not None, person.last_parcel_on or date.min,
            min(item.created_at for item in needs), person.id)


@settings(max_examples=150, deadline=None)
@given(weeks())
def test_when_capacity_is_short_nobody_is_passed_over_for_someone_who_waited_less(week):
    facilities, people, needs = week
    plan = plan_week(MONDAY, facilities, people, needs, MINSK, runs_per_window=1)
    planned = {parcel.prisoner_id for run in plan for parcel in run.parcels}
    by_facility = {item.id: item for item in facilities}
    for fid, place in by_facility.items():
        if not plan or not place.windows:
            continue
        runs = [run for run in plan if run.facility_id == fid]
        if not runs:
            continue
        day = runs[0].window_start.astimezone(MINSK).date()
        served, skipped = [], []
        for person in people:
            own = [item for item in needs if item.prisoner_id == person.id]
            if person.facility_id != fid or not own or compose_parcel(person, own, day) is None:
                continue
            (served if person.id in planned else skipped).append(_waited(person, own))
        if served and skipped:
            assert max(served) < min(skipped)
