"""The allowance ledger: what a prisoner may still receive on a day. Pure: no I/O, no clock.

Rules are data a coordinator maintains per facility, in versions with the date each took effect; the
version in force on a day is the latest one that took effect on or before it. Weight is counted per
calendar month and parcels per calendar year, over every delivered parcel of that period (money paid
into the prison account weighs nothing and is not a parcel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain import Allowance, FacilityRules, Prisoner, carries_goods


@dataclass(frozen=True)
class DeliveredParcel:
    on: date
    weight_g: int
    categories: tuple[str, ...] = ()


def rules_on(rules_history: Sequence[tuple[date, FacilityRules]], on: date) -> FacilityRules:
    """The version in force on `on`; no version yet means nothing is known (no limit applied)."""
    current: tuple[date, FacilityRules] | None = None
    for effective_from, rules in rules_history:
        if effective_from <= on and (current is None or effective_from >= current[0]):
            current = (effective_from, rules)
    return current[1] if current is not None else FacilityRules()


def parcels_limit(rules: FacilityRules, regime: str) -> int | None:
    """Per-regime count where the facility has one for the prisoner's regime, else the general one."""
    by_regime = {key.casefold(): value for key, value in rules.parcels_per_year_by_regime.items()}
    if regime and regime.casefold() in by_regime:
        return by_regime[regime.casefold()]
    return rules.parcels_per_year


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def allowance_for(
    rules_history: Sequence[tuple[date, FacilityRules]],
    prisoner: Prisoner,
    delivered: Sequence[DeliveredParcel],
    on: date,
) -> Allowance:
    rules = rules_on(rules_history, on)
    month_g = sum(p.weight_g for p in delivered if (p.on.year, p.on.month) == (on.year, on.month))
    year_count = sum(1 for p in delivered if p.on.year == on.year and carries_goods(p.categories))
    kg_left = None if rules.kg_per_month is None else max(0, round(rules.kg_per_month * 1000) - month_g) / 1000
    limit = parcels_limit(rules, prisoner.regime)
    parcels_left = None if limit is None else max(0, limit - year_count)
    blocked_until: list[date] = []
    if parcels_left == 0:
        blocked_until.append(date(on.year + 1, 1, 1))
    if kg_left is not None and kg_left <= 0:
        blocked_until.append(_next_month(on))
    suspended = prisoner.suspended_until if prisoner.suspended_until and prisoner.suspended_until >= on else None
    if suspended is not None:
        blocked_until.append(suspended + timedelta(days=1))
    return Allowance(
        on=on,
        kg_left_month=kg_left,
        parcels_left_year=parcels_left,
        suspended_until=suspended,
        refused_categories=frozenset(rules.refused_categories),
        goods_only_categories=frozenset(rules.goods_parcel_only_categories),
        next_allowed_on=max(blocked_until) if blocked_until else None,
    )


def possible_from(allowance: Allowance, reason: str) -> date | None:
    """For a refusal reason: the first day the same parcel could go, where the ledger can tell."""
    if reason in ("suspended", "no_parcels_left"):
        return allowance.next_allowed_on
    if reason == "no_weight_left":
        return max(_next_month(allowance.on), allowance.next_allowed_on or allowance.on)
    return None
