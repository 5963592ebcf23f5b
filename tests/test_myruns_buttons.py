"""/myruns offers per place only the buttons that can work at that moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import FacilityKind, RunStatus
from bot.services.runs import MyRun, RunLine
from handlers.runs import my_run_buttons

START = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
END = START + timedelta(hours=4)


def place(status: str, places: int = 2) -> MyRun:
    line = RunLine(1, "R-TEST", RunStatus.PUBLISHED, FacilityKind.SIZO, "Minsk", START, END, 1, 1000, ("food",),
                   places, 1)
    return MyRun(7, status, line)


def labels(status: str, now: datetime, places: int = 2) -> list[str]:
    return [label.split(" ")[0] for label, _ in my_run_buttons(place(status, places), now)]


@pytest.mark.parametrize(("status", "now", "expected"), [
    ("claimed", START - timedelta(days=1), ["Details", "Confirm", "Give", "Message"]),
    ("confirmed", START - timedelta(days=1), ["Details", "Give", "Message"]),
    ("claimed", START + timedelta(hours=1), ["Details", "Report", "I'm", "Message"]),
    ("confirmed", END + timedelta(minutes=1), ["Report", "I'm"]),
    ("awaiting_approval", START - timedelta(days=1), ["Give"]),
    ("awaiting_approval", START + timedelta(hours=1), []),
    ("reported", START + timedelta(hours=3), []),
])
def test_only_what_can_work_now(status, now, expected):
    assert labels(status, now) == expected


def test_a_one_place_run_has_nobody_to_message():
    assert "Message" not in labels("claimed", START - timedelta(days=1), places=1)
