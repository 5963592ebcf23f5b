"""`parcelbot sandbox`: a person at a terminal walks a week through the real bot, with no Telegram and no token.

The journey test drives `python -m bot sandbox` through stdin/stdout exactly as an operator would, reading
button numbers from the printed `[n] Label` lines. The clock starts at a fixed moment (--start), so nothing
depends on the wall clock.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import sandbox_seed
from bot.emulator import SPEC_ENV_VAR
from bot.sandbox import PEOPLE, Command, Player, Sandbox, parse_line, render

START = "2026-11-23T12:00"  # Monday 12:00 in Minsk (local time); /plan drafts the week from Monday 30.11
PROMPT = re.compile(r"\[(coordinator|volunteer \d|family)\] > $")


class Terminal:
    """The sandbox as a subprocess: type a line, get everything printed up to the next prompt."""

    def __init__(self, cwd: Path) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PARCELBOT_")}
        env.update(PYTHONIOENCODING="utf-8", TMPDIR=str(cwd / "tmp"))
        (cwd / "tmp").mkdir()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "--start", START],
            cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.transcript = ""

    def read_prompt(self, timeout: float = 15.0) -> str:
        fd = self.process.stdout.fileno()
        buffer = b""
        deadline = time.monotonic() + timeout
        while not PROMPT.search(buffer.decode("utf-8", errors="replace")):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no prompt after {timeout}s; so far:\n{self.transcript}{buffer.decode()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"the sandbox ended:\n{self.transcript}{buffer.decode()}\n"
                                         f"{self.process.stderr.read().decode()}")
                buffer += chunk
        text = buffer.decode("utf-8")
        self.transcript += text
        return text

    def type(self, line: str) -> str:
        self.process.stdin.write(line.encode("utf-8") + b"\n")
        self.process.stdin.flush()
        return self.read_prompt()

    def press(self, output: str, label: str) -> str:
        """Press the button whose label starts with `label` in `output` by typing its number."""
        match = re.search(rf"\[(\d+)\] {re.escape(label)}", output)
        assert match, f"no button {label!r} in:\n{output}"
        return self.type(match.group(1))

    def quit(self) -> str:
        out, _ = self.process.communicate(b"/quit\n", timeout=10)
        return out.decode("utf-8")


@pytest.fixture
def terminal(tmp_path: Path):
    terminal = Terminal(tmp_path)
    yield terminal
    if terminal.process.poll() is None:
        terminal.process.kill()
        terminal.process.wait(timeout=5)


def test_an_operator_claims_a_run_and_reports_it_through_the_terminal(terminal, tmp_path):
    # Given the sandbox, started with no token, passphrase, config or data directory
    welcome = terminal.read_prompt(timeout=30)
    assert "Facilities from examples/facilities.toml" in welcome and "/as coordinator" in welcome

    # When the coordinator plans next week and presses Publish all by its number
    plan = terminal.type("/plan")
    assert "Plan for the week from 30.11.2026" in plan
    published = terminal.press(plan, "Publish all")
    # Then the volunteers are told, and the terminal says who has news
    assert "Published." in published and "new messages for volunteer 1" in published

    # When volunteer 1 reads their news, lists the open tasks and claims the first
    news = terminal.type("/as volunteer 1")
    assert "new task" in news
    runs = terminal.type("/runs")
    code = re.search(r"\[\d+\] Claim (R-\w+)", runs).group(1)
    claimed = terminal.press(runs, f"Claim {code}")
    # Then the place is theirs (volunteer 1 is trusted: no approval needed)
    assert f"The place on {code} is yours" in claimed

    # When the clock reaches the day before, they confirm from the reminder
    reminder = terminal.type("/time +6d")
    assert "Clock: Sun 29.11.2026" in reminder
    assert "Thank you" in terminal.press(reminder, f"Confirm {code}")

    # And after the window they report every parcel as delivered
    assert "Clock: Mon 30.11.2026 14:00" in terminal.type("/time +1d2h")
    screen = terminal.press(terminal.type("/myruns"), f"Report {code}")
    for _ in range(6):  # a run carries at most six parcels
        if "Everything on" in screen:
            break
        assert "tap each parcel" in screen, screen
        screen = terminal.press(terminal.press(screen, ""), "Delivered")
    # Then the bot thanks them and checks them in
    assert f"Thank you. Everything on {code} is reported" in screen

    # And quitting deletes the throw-away database; nothing was written to ./data
    assert "Sandbox closed" in terminal.quit()
    assert terminal.process.returncode == 0
    assert not (tmp_path / "data").exists() and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/as coordinator", Command("as", person="coordinator")),
        ("/as  Volunteer 2", Command("as", person="volunteer 2")),
        ("/as volunteer", Command("as", person="volunteer 1")),
        ("/as family", Command("as", person="family")),
        ("/time +1d", Command("time", delta=timedelta(days=1))),
        ("/time +1d6h30m", Command("time", delta=timedelta(days=1, hours=6, minutes=30))),
        ("/press 3", Command("press", number=3)),
        ("3", Command("number", number=3, text="3")),
        ("/say 1987", Command("say", text="1987")),
        ("/who", Command("who")),
        ("/sandbox", Command("help")),
        ("/quit", Command("quit")),
        ("/plan", Command("say", text="/plan")),
        ("  Гречка, 2 кг  ", Command("say", text="Гречка, 2 кг")),
        ("1987", Command("say", text="1987")),
    ],
)
def test_the_line_parser_reads_sandbox_commands_and_passes_the_rest_to_the_bot(line, expected):
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", ["/as volunteer 9", "/as warden", "/time 1d", "/time +0m", "/time +32d",
                                  "/time -1h", "/press", "/press x", "/say"])
def test_the_line_parser_says_what_it_expects_for_bad_sandbox_commands(line):
    command = parse_line(line)
    assert command.kind == "invalid" and command.text.startswith("Use /")


def test_blank_lines_are_ignored():
    assert parse_line("") is None and parse_line("   \n") is None


def test_rendering_numbers_buttons_across_messages_and_shows_deletions():
    player = Player(PEOPLE[0])
    chat = player.chat_id
    keyboard = {"inline_keyboard": [[{"text": "Drop", "callback_data": "a"}, {"text": "Keep", "callback_data": "b"}]]}
    calls = [
        {"method": "sendMessage", "status": 200, "params": {"chat_id": chat, "text": "Plan", "reply_markup": keyboard},
         "response": {"result": {"message_id": 5, "text": "Plan\nline two"}}},
        {"method": "sendMessage", "status": 200, "params": {"chat_id": 999, "text": "someone else's"},
         "response": {"result": {"message_id": 1, "text": "someone else's"}}},
        {"method": "sendMessage", "status": 200,
         "params": {"chat_id": chat, "text": "More", "reply_markup": {"inline_keyboard": [[
             {"text": "Publish all", "callback_data": "c"}]]}},
         "response": {"result": {"message_id": 6, "text": "More"}}},
        {"method": "deleteMessage", "status": 200, "params": {"chat_id": chat, "message_id": 5},
         "response": {"result": True}},
    ]
    assert render(calls, player) == [
        "bot: Plan", "     line two", "     [1] Drop  [2] Keep", "bot: More", "     [3] Publish all",
        "bot: (message deleted) was: Plan",
    ]
    assert player.buttons == {1: (5, "a"), 2: (5, "b"), 3: (6, "c")}


async def test_without_the_api_spec_or_the_example_list_the_sandbox_still_runs(monkeypatch, tmp_path):
    # Given a machine without ../shared (no api.json) and an install without examples/
    monkeypatch.setenv(SPEC_ENV_VAR, str(tmp_path / "missing-api.json"))
    monkeypatch.setattr(sandbox_seed, "EXAMPLE_FACILITIES", Path("no-such-dir") / "facilities.toml")
    out = io.StringIO()
    box = Sandbox(tmp_path, out, start=datetime(2026, 11, 23, 9, tzinfo=UTC), language="en",
                  timezone="Europe/Minsk")
    lines: asyncio.Queue = asyncio.Queue()
    for line in ("/plan", "/who", None):
        lines.put_nowait(line)
    # When it starts and the coordinator plans
    try:
        await box.start()
        await box.run(lines, echo=True)
    finally:
        await box.stop()
    # Then it says validation is off, uses its built-in facilities, and the plan still works
    text = out.getvalue()
    assert text.startswith("request validation off: api.json not found\n")
    assert "Facilities from a built-in list" in text
    assert "[coordinator] > /plan\nbot: Plan for the week from 30.11.2026" in text and "] Publish all" in text
    assert "volunteer 1  Алесь" in text
