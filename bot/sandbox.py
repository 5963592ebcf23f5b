"""`parcelbot sandbox`: try the bot in a terminal, with no Telegram, no token and nothing leaving the machine.

The real Application polls the local Bot API emulator (bot/emulator, the one the tests use) on loopback;
the database lives in a temporary directory deleted on exit; the clock is a FakeClock that moves only on
`/time`. The operator types as one of the seeded people (bot/sandbox_seed.py); the bot's messages to that
person are printed with their buttons numbered, and typing a number presses one. Line based, plain text:
it works the same when stdin is a pipe, which is how tests/test_sandbox.py drives it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, TextIO

from bot.clock import FakeClock
from bot.config import Config, Secret
from bot.emulator import ApiSpec, ApiSpecNotFoundError, FakeBotApi
from bot.sandbox_seed import PEOPLE, SeedPerson, facility_document, seed
from storage.crypto import KdfParams
from storage.store import Store

# Shaped like a bot token (the Application checks the shape); it only ever reaches the local emulator.
SANDBOX_TOKEN = "1234567890:SANDBOX-local-emulator-token-abcdef"  # noqa: S105 - not a credential
BOT_USERNAME = "parcel_sandbox_bot"
MAX_ADVANCE = timedelta(days=31)
STEP = timedelta(minutes=30)  # /time runs the due work every half hour of fake time, in order
SETTLE_SECONDS = 15.0
VOLUNTEERS = sum(1 for person in PEOPLE if person.key.startswith("volunteer"))
_DELTA = re.compile(r"(\d{1,4})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

HELP = """\
parcelbot sandbox: the real bot against a local Telegram emulator, on a throw-away database.
Nothing leaves this machine; everything is deleted when you quit. The people (all invented):
  coordinator     plans the week, publishes runs, approves new volunteers' claims
  volunteer 1     trusted; goes Mon-Sat in Minsk and Gomel
  volunteer 2, 3  new (a coordinator confirms their first claims); Minsk / Gomel
  family          a relative who can ask for help with /request
Sandbox commands:
  /as coordinator | /as volunteer N | /as family   play someone else (their unread messages show)
  /time +1d | +6h | +30m   move the clock forward and run what falls due (reminders, deletions, ...)
  N or /press N            press button [N] of the last buttons shown
  /say TEXT                send TEXT as a message even if it looks like a sandbox command
  /who                     the people and the clock;  /sandbox  this help;  /quit  leave
Anything else is a message to the bot. Try: /as coordinator then /plan, press Publish all;
then /as volunteer 1 then /runs and claim; /time +2d; /help as any person."""


# -- the line parser ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One line typed by the operator. `kind`: as, time, press, number, who, help, quit, say or invalid."""

    kind: str
    person: str = ""  # "as": a key of PEOPLE
    delta: timedelta = timedelta(0)  # "time"
    number: int = 0  # "press" and "number"
    text: str = ""  # "say": the message; "invalid": what is expected


def parse_line(line: str, volunteers: int = VOLUNTEERS) -> Command | None:
    """Parse one input line; None for a blank one. Never raises: bad input is an "invalid" command."""
    text = line.strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    rest = rest.strip()
    match head.lower():
        case "/as":
            return _parse_as(rest, volunteers)
        case "/time":
            return _parse_time(rest)
        case "/press":
            if rest.isdigit() and 0 < int(rest) < 1000:
                return Command("press", number=int(rest))
            return Command("invalid", text="Use /press N, where N is a button number shown as [N].")
        case "/say":
            return Command("say", text=rest) if rest else Command("invalid", text="Use /say TEXT.")
        case "/who":
            return Command("who")
        case "/sandbox":
            return Command("help")
        case "/quit" | "/exit":
            return Command("quit")
    if text.isdigit() and len(text) <= 3:
        return Command("number", number=int(text), text=text)
    return Command("say", text=text)


def _parse_as(rest: str, volunteers: int) -> Command:
    words = rest.lower().split()
    if words in (["coordinator"], ["family"]):
        return Command("as", person=words[0])
    if words == ["volunteer"]:
        return Command("as", person="volunteer 1")
    if len(words) == 2 and words[0] == "volunteer" and words[1].isdigit() and 1 <= int(words[1]) <= volunteers:
        return Command("as", person=f"volunteer {int(words[1])}")
    return Command("invalid", text=f"Use /as coordinator, /as family or /as volunteer N (N from 1 to {volunteers}).")


def _parse_time(rest: str) -> Command:
    expected = "Use /time +1d, +6h, +30m or a mix such as +1d6h (at most 31 days)."
    body = rest.replace(" ", "")
    if not body.startswith("+") or not re.fullmatch(r"(?:\d{1,4}[dhm])+", body[1:]):
        return Command("invalid", text=expected)
    delta = sum((timedelta(**{_UNITS[unit]: int(amount)}) for amount, unit in _DELTA.findall(body)), timedelta(0))
    if not timedelta(0) < delta <= MAX_ADVANCE:
        return Command("invalid", text=expected)
    return Command("time", delta=delta)


# -- rendering what the bot did ---------------------------------------------------------------------------


@dataclass
class Player:
    """A seeded person as the terminal knows them: what they have read and the buttons they can press."""

    seed: SeedPerson
    seen: int = 0  # emulator call index: calls before it were shown already
    noticed: int = 0  # calls before it were counted in a "new messages for ..." line already
    buttons: dict[int, tuple[int | None, str]] = field(default_factory=dict)  # N -> (message_id, callback data)
    queries: set[str] = field(default_factory=set)  # callback query ids of their presses, for popups
    titles: dict[int, str] = field(default_factory=dict)  # message id -> first line, to say what was deleted

    @property
    def chat_id(self) -> int:
        return self.seed.user_id


def _keyboard_rows(markup: Any) -> list[list[dict[str, Any]]]:
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return [row for row in markup["inline_keyboard"] if isinstance(row, list)]
    return []


def _message_lines(prefix: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    return [prefix + lines[0], *("     " + line for line in lines[1:])]


def render(calls: list[dict[str, Any]], player: Player) -> list[str]:
    """The calls addressed to `player` as terminal lines; buttons get numbers and become pressable.

    Numbers run on across the messages shown at once; when new buttons appear they replace the old map.
    """
    lines: list[str] = []
    buttons: dict[int, tuple[int | None, str]] = {}
    for call in calls:
        params, method, ok = call["params"], call["method"], call["status"] == 200
        if method == "answerCallbackQuery":
            if params.get("callback_query_id") in player.queries and params.get("text"):
                lines.append(f"bot (popup): {params['text']}")
            continue
        if params.get("chat_id") != player.chat_id:
            continue
        result = call["response"].get("result")
        if not ok:
            # A failed edit or delete changes nothing on screen (the bot falls back); a failed send is news.
            if method.startswith("send"):
                lines.append(f"bot: (not delivered: {call['response'].get('description', '')})")
            continue
        if method == "deleteMessage":
            was = player.titles.pop(params.get("message_id"), "")
            lines.append("bot: (message deleted)" + (f" was: {was}" if was else ""))
            continue
        if method == "deleteMessages":
            lines.extend("bot: (message deleted)" for _ in params.get("message_ids") or ())
            continue
        if method == "editMessageReplyMarkup":
            lines.append("bot: (buttons changed)" if _keyboard_rows(params.get("reply_markup")) else
                         "bot: (buttons removed)")
        elif method.startswith(("send", "edit")) and isinstance(result, dict):
            text = result.get("text") or result.get("caption") or ""
            if method.startswith("send") and method != "sendMessage":
                text = f"({method[4:].lower()}) {text}".rstrip()
            lines.extend(_message_lines("bot (edited): " if method.startswith("edit") else "bot: ", text))
        else:
            continue
        message_id = params.get("message_id") or (result.get("message_id") if isinstance(result, dict) else None)
        if isinstance(result, dict) and message_id is not None:
            player.titles[message_id] = (result.get("text") or result.get("caption") or "").split("\n")[0][:60]
        for row in _keyboard_rows(params.get("reply_markup")):
            shown = []
            for button in row:
                number = len(buttons) + 1
                buttons[number] = (message_id, str(button.get("callback_data", "")))
                shown.append(f"[{number}] {button.get('text', '')}")
            lines.append("     " + "  ".join(shown))
    if buttons:
        player.buttons = buttons
    return lines


# -- the session ----------------------------------------------------------------------------------------


class Sandbox:
    """The running sandbox: store, clock, emulator, Application, the people, and the terminal loop."""

    def __init__(self, data_dir: Path, out: TextIO, *, start: datetime, language: str, timezone: str,
                 facilities: Path | None = None) -> None:
        self.data_dir = data_dir
        self.out = out
        self.clock = FakeClock(start)
        self.language = language
        self.timezone = timezone
        self.facilities = facilities
        self.players = {person.key: Player(person) for person in PEOPLE}
        self.current = self.players["coordinator"]
        self.stopped = asyncio.Event()
        self.store: Store | None = None
        self.api: FakeBotApi | None = None
        self.application: Any = None
        self._violations = 0

    def say(self, *lines: str) -> None:
        self.out.write("".join(line + "\n" for line in lines))
        self.out.flush()

    # lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        from bot.app import build_application, make_runtime  # telegram is imported by the assembly only

        try:
            spec: ApiSpec | Literal[False] = ApiSpec.load()
        except ApiSpecNotFoundError:
            spec = False
            self.say("request validation off: api.json not found")
        self.api = FakeBotApi(token=SANDBOX_TOKEN, bot_username=BOT_USERNAME, spec=spec,
                              max_calls=20_000, max_messages_per_chat=500)
        self.api.now = lambda: self.clock.now().timestamp()  # messages dated by the sandbox's clock
        await self.api.start()
        # The cheapest KDF the store accepts: this database is thrown away on exit and protects nothing.
        self.store = await Store.create(self.data_dir / "parcelbot.db", secrets.token_urlsafe(24),
                                        kdf=KdfParams(n=2**10, r=8, p=1), clock=self.clock)
        config = Config(
            data_dir=self.data_dir, token=Secret(SANDBOX_TOKEN), api_base_url=self.api.base_url,
            bot_username=BOT_USERNAME, timezone=self.timezone, kdf_cost=10,
            # The fake clock stands still between /time commands, so per-minute limits would trip while
            # someone explores; the limiter itself is covered by the tests.
            commands_per_minute=1000, list_views_per_hour=10_000, claims_per_day=100,
        )
        self.application = build_application(make_runtime(config, self.store, self.clock), rate_limiter=False)
        self.application.bot_data["runtime"].extras["request_stop"] = self.stopped.set
        await self.application.initialize()
        await self.application.post_init(self.application)
        await self.application.start()
        await self.application.updater.start_polling(timeout=1, poll_interval=0.0)
        document, source = facility_document(self.facilities)
        today = self.clock.now().astimezone(config.tz).date()
        await seed(self.store, self._send_as_seed, today, document)
        mark = self.api.mark()
        for player in self.players.values():
            player.seen = mark  # the welcome messages of registration are not news
        self._violations = len(self.api.violations)
        self.say(HELP, f"Facilities from {source}. Clock: {self._now()}.", "")

    async def stop(self) -> None:
        app = self.application
        if app is not None:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        if self.api is not None:
            await self.api.stop()
        if self.store is not None:
            await self.store.close()

    # driving the bot -----------------------------------------------------------------------------------

    async def _settle(self, update: dict[str, Any]) -> None:
        """Return once the bot has fetched the update and finished every handler it caused."""
        await self.api.wait_delivered(update["update_id"], SETTLE_SECONDS)
        await asyncio.wait_for(self.application.update_queue.join(), SETTLE_SECONDS)

    async def _send(self, player: Player, text: str) -> None:
        person = player.seed
        update = self.api.send_message(person.user_id, text, language_code=self.language,
                                       first_name=person.first_name)
        await self._settle(update)

    async def _send_as_seed(self, person: SeedPerson, text: str) -> None:
        await self._send(self.players[person.key], text)

    async def _press(self, player: Player, number: int) -> None:
        message_id, data = player.buttons[number]
        update = self.api.press_button(player.chat_id, data, message_id=message_id)
        player.queries.add(update["callback_query"]["id"])
        await self._settle(update)

    async def _advance(self, delta: timedelta) -> None:
        from schedules.jobs import run_due

        target = self.clock.now() + delta
        while self.clock.now() < target:
            self.clock.set(min(self.clock.now() + STEP, target))
            await run_due(self.application)

    def _now(self) -> str:
        return self.clock.now().astimezone(self.application.bot_data["runtime"].config.tz).strftime(
            "%a %d.%m.%Y %H:%M") + f" ({self.timezone})"

    # the terminal --------------------------------------------------------------------------------------

    def prompt(self) -> str:
        return f"[{self.current.seed.key}] > "

    async def handle(self, command: Command) -> None:
        """Carry out one command and print what it caused."""
        match command.kind:
            case "invalid":
                self.say(command.text)
                return
            case "help":
                self.say(HELP)
                return
            case "who":
                self._who()
                return
            case "quit":
                self.stopped.set()
                return
            case "as":
                self.current = self.players[command.person]
                self.say(f"You are now {command.person} (Telegram id {self.current.chat_id}).")
            case "time":
                await self._advance(command.delta)
                self.say(f"Clock: {self._now()}.")
            case "press" | "number":
                if command.number in self.current.buttons:
                    await self._press(self.current, command.number)
                elif command.kind == "number":
                    await self._send(self.current, command.text)
                else:
                    self.say(f"No button [{command.number}] on the last buttons shown.")
                    return
                await self._run_due()
            case _:
                await self._send(self.current, command.text)
                await self._run_due()
        self._show_news()

    async def _run_due(self) -> None:
        """What fell due now (e.g. announcements after publishing): the real bot polls for it every 30 s."""
        from schedules.jobs import run_due

        await run_due(self.application)

    def _show_news(self) -> None:
        """Print the current person's new messages and a one-line notice for everyone else's."""
        mark = self.api.mark()
        calls = self.api.calls_since(self.current.seen)
        lines = render(calls, self.current)
        self.current.seen = mark
        self.say(*lines)
        waiting = []
        for player in self.players.values():
            if player is self.current or not _count(self.api.calls_since(max(player.seen, player.noticed)), player):
                continue
            waiting.append(f"{player.seed.key} ({_count(self.api.calls_since(player.seen), player)})")
            player.noticed = mark
        if waiting:
            self.say(f"(new messages for {', '.join(waiting)}: /as to read them)")
        new_violations = self.api.violations[self._violations:]
        self._violations = len(self.api.violations)
        for violation in new_violations:
            self.say(f"(emulator: Telegram would refuse this request: {violation})")

    def _who(self) -> None:
        lines = []
        for player in self.players.values():
            person = player.seed
            details = person.role.value
            if person.areas:
                days = ",".join("Mon Tue Wed Thu Fri Sat Sun".split()[day] for day in person.weekdays)
                details += f"; {'trusted' if person.trusted else 'new'}; {'/'.join(person.areas)}; {days}"
            marker = "*" if player is self.current else " "
            lines.append(f"{marker} {person.key:<12} {person.first_name:<8} {details}")
        self.say(*lines, f"Clock: {self._now()}.")

    async def run(self, lines: asyncio.Queue[str | None], *, echo: bool) -> None:
        """Read commands until /quit, end of input or a stop the bot asked for (e.g. /lockdown).

        `echo`: repeat each line after the prompt, so a transcript read from a pipe shows what was typed."""
        while not self.stopped.is_set():
            self.out.write(self.prompt())
            self.out.flush()
            line = await lines.get()
            if line is None:
                self.say("")
                return
            if echo:
                self.say(line.rstrip("\n"))
            command = parse_line(line)
            if command is not None:
                await self.handle(command)


class _Peek(Player):
    """A copy of a player for counting their unread messages without touching their button map."""

    def __init__(self, player: Player) -> None:
        super().__init__(player.seed, player.seen, player.noticed, {}, set(player.queries), {})


def _count(calls: list[dict[str, Any]], player: Player) -> int:
    """How many messages the calls show `player`, without changing what their numbers press."""
    return sum(1 for line in render(calls, _Peek(player)) if line.startswith("bot"))


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """A daemon thread, so a pending read never holds up the exit (Ctrl-C, /quit)."""

    def read() -> None:
        for line in iter(sys.stdin.readline, ""):
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="sandbox-stdin", daemon=True).start()


def start_time(text: str | None, tz: tzinfo = UTC) -> datetime:
    """--start as ISO date-time (local time in `tz` unless it says otherwise: what the sandbox's clock
    then shows), else now rounded down to the hour."""
    if text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


async def main(*, start: datetime, language: str = "en", timezone: str = "Europe/Minsk",
               facilities: Path | None = None, out: TextIO | None = None) -> int:
    """Run the sandbox on stdin/stdout; the temporary directory and everything in it is gone afterwards."""
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="parcelbot-sandbox-") as tmp:
        sandbox = Sandbox(Path(tmp), out, start=start, language=language, timezone=timezone, facilities=facilities)
        try:
            await sandbox.start()
            lines: asyncio.Queue[str | None] = asyncio.Queue()
            _read_stdin(asyncio.get_running_loop(), lines)
            await sandbox.run(lines, echo=not sys.stdin.isatty())
        finally:
            await sandbox.stop()
    out.write("Sandbox closed; its database is deleted.\n")
    out.flush()
    return 0
