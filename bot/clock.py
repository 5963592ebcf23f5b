"""Time comes from a clock object so tests can move through a week without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def to_db(moment: datetime) -> str:
    """UTC ISO text, second precision: sortable in SQL and unambiguous."""
    # isoformat is several times faster than strftime, and every row written or compared has one.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def from_db(text: str | None) -> datetime | None:
    if text is None:
        return None
    # fromisoformat is ~20x faster than strptime, and lists parse thousands of these per screen.
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or not text.endswith("Z"):
        raise ValueError(f"not a UTC database timestamp: {text!r}")
    return moment


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
