"""The allowance ledger: unit examples and Hypothesis properties (limits, suspension, rules by date)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import FacilityRules, Prisoner, PrisonerStatus
from bot.services.ledger import DeliveredParcel, allowance_for, possible_from, rules_on

DAY = date(2026, 3, 10)


def prisoner(regime: str = "", suspended_until: date | None = None) -> Prisoner:
    return Prisoner(id=1, alias="Iris-101", facility_id=1, status=PrisonerStatus.SENTENCED, full_name="Test Person",
                    birth_year=1980, regime=regime, suspended_until=suspended_until)


def test_weight_is_counted_per_calendar_month():
    history = [(date(2026, 1, 1), FacilityRules(kg_per_month=30))]
    delivered = [DeliveredParcel(date(2026, 2, 27), 20_000), DeliveredParcel(date(2026, 3, 2), 12_500)]
    allowance = allowance_for(history, prisoner(), delivered, DAY)
    assert allowance.kg_left_month == 17.5
    assert allowance.refusal(17_500, ("food",)) is None
    assert allowance.refusal(17_600, ("food",)) == "no_weight_left"


def test_parcels_are_counted_per_calendar_year_and_regime_overrides_the_general_count():
    history = [(date(2025, 1, 1), FacilityRules(parcels_per_year=6, parcels_per_year_by_regime={"strict": 2}))]
    delivered = [DeliveredParcel(date(2025, 12, 30), 1000), DeliveredParcel(date(2026, 2, 1), 1000),
                 DeliveredParcel(date(2026, 3, 1), 1000)]
    assert allowance_for(history, prisoner("general"), delivered, DAY).parcels_left_year == 4
    strict = allowance_for(history, prisoner("Strict"), delivered, DAY)
    assert strict.parcels_left_year == 0
    assert strict.next_allowed_on == date(2027, 1, 1)
    assert strict.refusal(100, ("food",)) == "no_parcels_left"


def test_money_alone_is_not_a_parcel_and_weighs_nothing():
    history = [(date(2026, 1, 1), FacilityRules(kg_per_month=5, parcels_per_year=1, refused_categories=("clothes",)))]
    money_only = [DeliveredParcel(date(2026, 2, 1), 0, ("money",)), DeliveredParcel(date(2026, 3, 1), 0, ("money",))]
    allowance = allowance_for(history, prisoner(), money_only, DAY)
    assert allowance.parcels_left_year == 1 and allowance.kg_left_month == 5
    full = allowance_for(history, prisoner(), [DeliveredParcel(date(2026, 3, 2), 5000, ("food", "money"))], DAY)
    assert full.parcels_left_year == 0 and full.refusal(100, ("food",)) == "no_parcels_left"
    assert full.refusal(0, ("money",)) is None, "money can still be paid in"
    assert full.refusal(0, ("money", "clothes")) == "refused_category"
    suspended = allowance_for(history, prisoner(suspended_until=DAY), [], DAY)
    assert suspended.refusal(0, ("money",)) == "suspended"


def test_exhausted_weight_points_to_the_first_of_next_month():
    history = [(date(2026, 1, 1), FacilityRules(kg_per_month=5))]
    allowance = allowance_for(history, prisoner(), [DeliveredParcel(DAY, 5000)], date(2026, 12, 20))
    assert allowance.kg_left_month == 5  # December: the March parcel does not count
    allowance = allowance_for(history, prisoner(), [DeliveredParcel(date(2026, 12, 1), 5000)], date(2026, 12, 20))
    assert allowance.kg_left_month == 0 and allowance.next_allowed_on == date(2027, 1, 1)


def test_suspended_rights_block_everything_until_the_day_after():
    allowance = allowance_for([], prisoner(suspended_until=date(2026, 6, 30)), [], DAY)
    assert allowance.suspended_until == date(2026, 6, 30)
    assert allowance.refusal(100, ("vitamins",)) == "suspended"
    assert allowance.next_allowed_on == date(2026, 7, 1)
    assert possible_from(allowance, "suspended") == date(2026, 7, 1)
    assert allowance_for([], prisoner(suspended_until=date(2026, 3, 9)), [], DAY).suspended_until is None


def test_categories_refused_or_only_in_the_goods_parcel_are_named():
    history = [(date(2026, 1, 1), FacilityRules(refused_categories=("medicine",),
                                                goods_parcel_only_categories=("hygiene",)))]
    allowance = allowance_for(history, prisoner(), [], DAY)
    assert allowance.refusal(500, ("medicine",)) == "refused_category"
    assert allowance.refusal(500, ("hygiene", "food")) == "goods_parcel_only"
    assert allowance.refusal(500, ("food",)) is None


def test_rules_in_force_are_the_latest_that_took_effect_by_the_day():
    old, new = FacilityRules(kg_per_month=30), FacilityRules(kg_per_month=20)
    history = [(date(2026, 4, 1), new), (date(2025, 1, 1), old)]
    assert rules_on(history, date(2026, 3, 31)) == old
    assert rules_on(history, date(2026, 4, 1)) == new
    assert rules_on(history, date(2024, 12, 31)) == FacilityRules()
    assert allowance_for(history, prisoner(), [], date(2026, 3, 31)).kg_left_month == 30
    assert allowance_for(history, prisoner(), [], date(2026, 4, 1)).kg_left_month == 20


def test_unknown_rules_apply_no_limit():
    allowance = allowance_for([], prisoner(), [DeliveredParcel(DAY, 30_000)] * 20, DAY)
    assert allowance.kg_left_month is None and allowance.parcels_left_year is None
    assert allowance.refusal(30_000, ("food",)) is None


# Properties ------------------------------------------------------------------------------------------

rules_strategy = st.builds(
    FacilityRules,
    kg_per_month=st.one_of(st.none(), st.integers(1, 60).map(float)),
    parcels_per_year=st.one_of(st.none(), st.integers(0, 12)),
    parcels_per_year_by_regime=st.dictionaries(st.sampled_from(["strict", "general"]), st.integers(0, 6), max_size=2),
)
history_strategy = st.lists(
    st.tuples(st.dates(date(2025, 6, 1), date(2027, 6, 1)), rules_strategy), min_size=0, max_size=4
)
attempts_strategy = st.lists(
    st.tuples(st.integers(0, 700), st.integers(100, 30_000)), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(history=history_strategy, attempts=attempts_strategy, regime=st.sampled_from(["", "strict", "general"]))
def test_no_parcel_is_ever_allowed_past_a_limit(history, attempts, regime):
    """Deliver every parcel the ledger allows, in date order: no month or year ever goes past its limit."""
    person = prisoner(regime)
    delivered: list[DeliveredParcel] = []
    start = date(2026, 1, 1)
    for offset, grams in sorted(attempts):
        on = start + timedelta(days=offset)
        if allowance_for(history, person, delivered, on).refusal(grams, ("food",)) is None:
            delivered.append(DeliveredParcel(on, grams, ("food",)))
            rules = rules_on(history, on)
            month = sum(p.weight_g for p in delivered if (p.on.year, p.on.month) == (on.year, on.month))
            year = sum(1 for p in delivered if p.on.year == on.year)
            if rules.kg_per_month is not None:
                assert month <= round(rules.kg_per_month * 1000)
            limit = rules.parcels_per_year_by_regime.get(regime, rules.parcels_per_year)
            if limit is not None:
                assert year <= limit


@settings(max_examples=200, deadline=None)
@given(history=history_strategy, suspended=st.dates(date(2026, 1, 1), date(2027, 1, 1)),
       on=st.dates(date(2025, 1, 1), date(2027, 6, 1)), grams=st.integers(1, 30_000),
       categories=st.lists(st.sampled_from(["food", "hygiene", "money", "clothes"]), min_size=1, max_size=3))
def test_suspended_rights_block_every_parcel(history, suspended, on, grams, categories):
    allowance = allowance_for(history, prisoner(suspended_until=suspended), [], on)
    if on <= suspended:
        assert allowance.refusal(grams, tuple(categories)) == "suspended"
        assert allowance.next_allowed_on is not None and allowance.next_allowed_on > suspended
    else:
        assert allowance.refusal(grams, tuple(categories)) != "suspended"


@settings(max_examples=200, deadline=None)
@given(history=history_strategy, on=st.dates(date(2025, 1, 1), date(2028, 1, 1)))
def test_the_limit_applied_comes_from_the_version_in_force_that_day(history, on):
    in_force = [(d, r) for d, r in history if d <= on]
    expected = max(in_force, key=lambda item: item[0])[1] if in_force else FacilityRules()
    # Two versions on the same day: either may win; the repository keeps only one per day anyway.
    same_day = [r for d, r in in_force if in_force and d == max(x[0] for x in in_force)]
    assert rules_on(history, on) in same_day or rules_on(history, on) == expected
    assert allowance_for(history, prisoner(), [], on).kg_left_month == rules_on(history, on).kg_per_month
