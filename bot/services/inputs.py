"""Parsing what people type, with limits. A bad value raises InputError carrying the sentence to show.

The sentence is a translator message id: handlers show `t(error.message, **error.values)` and keep
the conversation on the same step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot.domain import NeedCategory
from bot.services.errors import DomainError

MIN_KG, MAX_KG = 0.1, 30.0
MAX_DETAILS = 500
MAX_NOTES = 1000
MAX_NAME = 120
MIN_AGE = 14
NONE_WORDS = ("-", "—", "no", "none", "нет", "не")
CATEGORIES = tuple(category.value for category in NeedCategory)


class InputError(DomainError):
    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values


def squeeze(text: str) -> str:
    """One line, single spaces, no control characters."""
    return " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())


def is_none(text: str) -> bool:
    return squeeze(text).casefold() in NONE_WORDS


def text_field(text: str, *, low: int, high: int, message: str) -> str:
    value = squeeze(text)
    if not low <= len(value) <= high:
        raise InputError(message, low=low, high=high)
    return value


def optional_text(text: str, high: int) -> str:
    """Free text up to `high` characters; "-" means none."""
    if is_none(text):
        return ""
    value = " ".join(text.split()) if "\n" not in text else "\n".join(squeeze(line) for line in text.splitlines())
    value = value.strip()
    if not value or len(value) > high:
        raise InputError("Please send up to {high} characters, or - for none.", high=high)
    return value


def full_name(text: str) -> str:
    value = text_field(text, low=2, high=MAX_NAME, message="Please send the full name, {low} to {high} characters.")
    if not any(ch.isalpha() for ch in value):
        raise InputError("Please send the full name, {low} to {high} characters.", low=2, high=MAX_NAME)
    return value


def birth_year(text: str, today: date) -> int:
    value = squeeze(text)
    high = today.year - MIN_AGE
    if not value.isdigit() or not 1920 <= int(value) <= high:
        raise InputError("Please send the year of birth as four digits, from 1920 to {high}.", high=high)
    return int(value)


def weight_g(text: str) -> int:
    """"1.5", "1,5", "1.5 kg" -> 1500 grams; 0.1 to 30 kg."""
    value = squeeze(text).casefold().removesuffix("kg").removesuffix("кг").strip().replace(",", ".")
    try:
        kg = float(value)
    except ValueError:
        kg = -1.0
    if not MIN_KG <= kg <= MAX_KG:  # also false for NaN
        raise InputError("Please send the weight in kg, from 0.1 to 30, e.g. 2.5.")
    return round(kg * 1000)


_DATE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{4}))?$")


def day(text: str, today: date, *, allow_past: bool = False) -> date:
    """"25.12" (the next 25 December) or "25.12.2026"; not in the past unless allowed."""
    match = _DATE.match(squeeze(text))
    message = "Please send the date as 25.12 or 25.12.2026"
    if match is None:
        raise InputError(message)
    dd, mm, yyyy = int(match[1]), int(match[2]), match[3]
    try:
        value = date(int(yyyy) if yyyy else today.year, mm, dd)
        if not yyyy and value < today and not allow_past:
            value = date(today.year + 1, mm, dd)
    except ValueError:
        raise InputError(message) from None
    if not allow_past and value < today:
        raise InputError("That date has passed. Please send the date as 25.12 or 25.12.2026")
    if value.year > today.year + 5:
        raise InputError(message)
    return value


_HOURS = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)\s*[-–—]\s*([01]?\d|2[0-3])[:.]([0-5]\d)$")


def hours(text: str) -> tuple[str, str]:
    match = _HOURS.match(squeeze(text))
    message = "Please send the hours as 09:00-13:00."
    if match is None:
        raise InputError(message)
    start, end = f"{int(match[1]):02d}:{match[2]}", f"{int(match[3]):02d}:{match[4]}"
    if start >= end:
        raise InputError(message)
    return start, end


HOURS_BY_DAY_HELP = "Please send the hours as 09:00-13:00, or per day: Tue 09:00-13:00, Sat 10:00-17:00."
_DAY_AND_HOURS = re.compile(r"^(?:(?P<day>[^\d\s]+)\s*)?(?P<span>\d.*)$")
MAX_WINDOWS = 14  # two a day is the most any facility list shows


def hours_by_day(text: str, weekday_of: Callable[[str], int | None]) -> list[tuple[int | None, str, str]]:
    """"09:00-13:00" (every chosen day), or per day: "Tue 09:00-13:00, Sat 10:00-17:00"; one span
    without a day there is for the chosen days not named. A day named twice has two windows.
    `weekday_of` reads a typed weekday in the member's language (bot.i18n.weekday_from_name)."""
    message = HOURS_BY_DAY_HELP
    parts = [part for part in re.split(r"[,;\n]+", text) if part.strip()]
    if not parts or len(parts) > MAX_WINDOWS:
        raise InputError(message)
    spans: list[tuple[int | None, str, str]] = []
    for part in parts:
        match = _DAY_AND_HOURS.match(squeeze(part))
        day = weekday_of(match["day"]) if match and match["day"] else None
        if match is None or (match["day"] and day is None):
            raise InputError(message)
        try:
            start, end = hours(match["span"])
        except InputError:
            raise InputError(message) from None
        spans.append((day, start, end))
    if sum(day is None for day, _, _ in spans) > 1:  # two spans for "the other days": which one?
        raise InputError(message)
    return spans


def kg_per_month(text: str) -> float | None:
    if is_none(text):
        return None
    value = squeeze(text).casefold().removesuffix("kg").removesuffix("кг").strip().replace(",", ".")
    try:
        kg = float(value)
    except ValueError:
        kg = -1.0
    if not 0.1 <= kg <= 500:
        raise InputError("Please send kilograms per month as a number, e.g. 30, or - if unknown.")
    return round(kg, 1)


def parcels_per_year(text: str) -> tuple[int | None, dict[str, int]]:
    """"12", "-", or "6, strict 4, special 3": a general count and counts per regime."""
    message = "Please send parcels per year as a number, e.g. 6, or per regime: 6, strict 4. Send - if unknown."
    if is_none(text):
        return None, {}
    general: int | None = None
    by_regime: dict[str, int] = {}
    for part in squeeze(text).split(","):
        words = part.split()
        if not words or not words[-1].isdigit() or int(words[-1]) > 365 or len(words) > 3:
            raise InputError(message)
        count = int(words[-1])
        regime = " ".join(words[:-1]).casefold()
        if not regime or regime == "general":
            general = count
        elif len(regime) <= 30:
            by_regime[regime] = count
        else:
            raise InputError(message)
    return general, by_regime


def category(text: str) -> NeedCategory:
    value = squeeze(text).casefold()
    if value not in CATEGORIES:
        raise InputError("Please choose a category with the buttons.")
    return NeedCategory(value)
