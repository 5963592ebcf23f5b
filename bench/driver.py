"""The load driver: plays people against the fake Bot API server, which runs in this process.

The server (tests.fake_bot_api.FakeBotApi) listens on loopback in this process's event loop; the bot
is another process and talks real HTTP to it. Driving the server's Python controls directly (rather
than its /_control/ HTTP endpoints) keeps the driver's own cost out of the way on a 2-core machine.

Each person has at most one update in flight, so a reply is matched to its update by chat id and
order: every call to that chat (and every answerCallbackQuery for that query) after the update was
enqueued and before the person's next update belongs to it. An update has been answered once it had
a visible answer (sendMessage or editMessageText to the chat, or a callback answer with a toast) and
the bot has moved on: PTB handles updates one at a time, so a call for another person's update, or
20 ms without calls, means the answered update made all its calls (a claim, say, also sends the
details). Only then does the person take the next step. Latency runs from the enqueue to the arrival
at the server of the last call that belongs to the update (both time.monotonic() in this process).

Closed loop: N people in flight, each sends its next step as soon as the last one was answered
(maximum throughput). Open loop: steps are offered at a fixed mean rate with exponential gaps,
whatever the bot is doing (latency under a given load).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_bot_api import Call, FakeBotApi

VISIBLE = ("sendMessage", "editMessageText")
QUIET = 0.02  # seconds without calls after which an answered update is taken as complete
SLOW_DOWN = re.compile(r"slow down", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    """Send `text`, or press a button whose label matches `press` (skipped when none is shown)."""

    text: str = ""
    press: str = ""


@dataclass
class Pending:
    user: Person
    sent_at: float
    query_id: str = ""
    last_at: float = 0.0
    answered: bool = False


@dataclass
class Person:
    user_id: int
    language: str
    steps: deque[Step] = field(default_factory=deque)
    keyboards: deque[tuple[int, list[tuple[str, str]]]] = field(default_factory=lambda: deque(maxlen=6))
    pending: Pending | None = None


@dataclass
class PhaseResult:
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    skipped_presses: int = 0
    skipped_by_label: dict[str, int] = field(default_factory=dict)  # which buttons were not shown
    errors: int = 0
    slow_downs: int = 0
    unserved: int = 0  # open loop: offers dropped because every person was still waiting
    seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)  # Bot API calls by method while measuring

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


JourneyFactory = Callable[[random.Random], tuple[int, str, list[Step]]]


class Driver:
    def __init__(self, api: FakeBotApi, journeys: JourneyFactory, *, seed: int = 2026) -> None:
        self.api = api
        self.journeys = journeys
        self.rng = random.Random(seed)  # noqa: S311 - reproducible load, not a secret
        self.next_call = 0
        self.last_call_seen = 0.0
        self.by_chat: dict[int, Pending] = {}
        self.by_query: dict[str, Pending] = {}
        self.busy: set[int] = set()  # people in a journey: nobody plays the same person twice at once
        self.result = PhaseResult()
        self.measuring = False
        self.on_answer: Callable[[Person], None] = lambda person: None
        self.unsettled: list[Pending] = []  # answered, but the bot may still be making its calls
        self._stop = False

    # -- calls out --------------------------------------------------------------------------------

    def sync(self) -> None:
        """Skip every call made so far (a new phase starts clean)."""
        self.next_call = self.api.mark()

    async def observe(self) -> None:
        """Read new calls until stopped; waits for the next call when nothing is new."""
        api = self.api
        while not self._stop:
            start = max(self.next_call - api._calls_base, 0)
            calls = api.calls[start:]
            self.next_call = api.mark()
            if not calls:
                if self.unsettled and time.monotonic() - self.last_call_seen >= QUIET:
                    self._settle(None)
                # A private wake-up shared by both versions of the fake server; far cheaper than wait_for.
                await api._calls_signal.wait(QUIET if self.unsettled else 0.5)
                continue
            self.last_call_seen = time.monotonic()
            for call in calls:
                self._take(call)

    def _settle(self, current: Pending | None) -> None:
        """The bot made a call for `current` (or went quiet): every other answered update is complete."""
        keep = []
        for pending in self.unsettled:
            if pending is current:
                keep.append(pending)
            else:
                if self.measuring:
                    self.result.completed += 1
                self.on_answer(pending.user)
        self.unsettled = keep

    def _take(self, call: Call) -> None:
        method, params = call.method, call.params
        if self.measuring:
            self.result.calls[method] = self.result.calls.get(method, 0) + 1
        if method == "getUpdates":
            return
        if method == "answerCallbackQuery":
            pending = self.by_query.get(str(params.get("callback_query_id")))
            if pending is None:
                return
            self._settle(pending)
            pending.last_at = max(pending.last_at, call.at)
            if params.get("text") and not pending.answered:
                self._answered(pending)
            return
        chat = params.get("chat_id")
        pending = self.by_chat.get(chat) if isinstance(chat, int) else None
        if pending is None:
            return
        self._settle(pending)
        pending.last_at = max(pending.last_at, call.at)
        if call.status != 200:
            self.result.errors += self.measuring
            return
        if method in VISIBLE:
            self._remember_keyboard(pending.user, call)
            if SLOW_DOWN.search(str(params.get("text", ""))):
                self.result.slow_downs += self.measuring
            if not pending.answered:
                self._answered(pending)

    def _remember_keyboard(self, person: Person, call: Call) -> None:
        markup = call.params.get("reply_markup")
        result = call.response.get("result")
        if isinstance(markup, dict) and isinstance(result, dict) and "inline_keyboard" in markup:
            buttons = [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row
                       if "callback_data" in b]
            person.keyboards.appendleft((result["message_id"], buttons))

    def _answered(self, pending: Pending) -> None:
        pending.answered = True
        self.unsettled.append(pending)

    def _finish(self, pending: Pending) -> None:
        """The person moves on: whatever came for this update so far was all of it."""
        self.by_chat.pop(pending.user.user_id, None)
        self.by_query.pop(pending.query_id, None)
        if pending.answered and self.measuring and pending.sent_at >= self.window_start:
            self.result.latencies.append(pending.last_at - pending.sent_at)

    # -- updates in -------------------------------------------------------------------------------

    def new_person(self) -> Person | None:
        """Someone not already in a journey; None when (nearly) everyone is waiting for an answer."""
        for _ in range(1000):
            user_id, language, steps = self.journeys(self.rng)
            if user_id not in self.busy:
                self.busy.add(user_id)
                return Person(user_id, language, deque(steps))
        return None

    def _next_step(self, person: Person) -> tuple[str, Any] | None:
        """The person's next update, or None when the journey is over (presses without a button are skipped)."""
        while person.steps:
            step = person.steps.popleft()
            if step.text:
                return "text", step.text
            pattern = re.compile(step.press)
            for message_id, buttons in person.keyboards:
                matching = [button for button in buttons if pattern.search(button[0])]
                if matching:
                    button = self.rng.choice(matching)
                    buttons.remove(button)  # a single-use token does not work twice
                    return "press", (button[1], message_id)
            if self.measuring:
                self.result.skipped_presses += 1
                self.result.skipped_by_label[step.press] = self.result.skipped_by_label.get(step.press, 0) + 1
        return None

    def send(self, people: list[Person]) -> list[Person]:
        """Enqueue each person's next step; returns those whose journey had ended."""
        ended = []
        for person in people:
            if person.pending is not None:
                self._finish(person.pending)
                person.pending = None
            step = self._next_step(person)
            if step is None:
                self.busy.discard(person.user_id)
                ended.append(person)
                continue
            pending = Pending(person, time.monotonic())
            pending.last_at = pending.sent_at
            person.pending = pending
            self.by_chat[person.user_id] = pending
            kind, value = step
            if kind == "text":
                self.api.send_message(person.user_id, value, language_code=person.language)
            else:
                data, message_id = value
                queued = self.api.press_button(person.user_id, data, message_id=message_id)
                pending.query_id = queued["callback_query"]["id"]
                self.by_query[pending.query_id] = pending
        return ended

    # -- phases -----------------------------------------------------------------------------------

    def _start_phase(self) -> None:
        self.result = PhaseResult()
        self.measuring = True
        self.window_start = time.monotonic()

    async def _end_phase(self, people: list[Person], started: float) -> PhaseResult:
        self.result.seconds = time.monotonic() - started
        self.measuring = False
        await asyncio.sleep(0.3)  # let the last answers in
        self.measuring = True
        for person in people:
            if person.pending is not None:
                self._finish(person.pending)
                person.pending = None
        self.measuring = False
        return self.result

    async def closed_loop(self, in_flight: int, seconds: float) -> PhaseResult:
        """`in_flight` people, each sending its next step as soon as the previous one was answered."""
        self.sync()
        ready: asyncio.Queue[Person] = asyncio.Queue()
        self.on_answer = ready.put_nowait
        people = [person for person in (self.new_person() for _ in range(in_flight)) if person is not None]
        self._stop = False
        observer = asyncio.create_task(self.observe())
        self._start_phase()
        started = time.monotonic()
        deadline = started + seconds
        batch = list(people)
        try:
            while time.monotonic() < deadline:
                ended = self.send(batch)
                for person in ended:  # a finished journey is replaced by a new person at once
                    people.remove(person)
                    fresh = self.new_person()
                    if fresh is not None:
                        people.append(fresh)
                        ready.put_nowait(fresh)
                try:
                    first = await asyncio.wait_for(ready.get(), timeout=max(deadline - time.monotonic(), 0.001))
                except TimeoutError:
                    break
                batch = [first]
                while not ready.empty():
                    batch.append(ready.get_nowait())
            in_flight_people = [p for p in people if p.pending is not None]
            result = await self._end_phase(in_flight_people, started)
        finally:
            self._stop = True
            await observer
        self._release(people)
        return result

    async def open_loop(self, rate: float, seconds: float) -> PhaseResult:
        """Offer `rate` updates a second on average (exponential gaps), from people not waiting for an answer."""
        self.sync()
        ready: deque[Person] = deque()
        self.on_answer = ready.append
        people: list[Person] = []
        self._stop = False
        observer = asyncio.create_task(self.observe())
        self._start_phase()
        started = time.monotonic()
        deadline = started + seconds
        due = started
        try:
            while due < deadline:
                due += self.rng.expovariate(rate)
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                while True:
                    if ready:
                        person = ready.popleft()
                    else:
                        person = self.new_person()
                        if person is None:  # the bot is far behind the offered rate: this offer is lost
                            self.result.unserved += 1
                            break
                        people.append(person)
                    ended = self.send([person])
                    if not ended:
                        break
                    people.remove(person)
            await asyncio.sleep(0.2)
            result = await self._end_phase([p for p in people if p.pending is not None], started)
        finally:
            self._stop = True
            await observer
        self._release(people)
        return result

    def _release(self, people: list[Person]) -> None:
        for person in people:
            self.busy.discard(person.user_id)
        self.by_chat.clear()
        self.by_query.clear()
        self.unsettled.clear()
