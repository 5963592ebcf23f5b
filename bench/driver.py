"""The load driver: plays people against the fake Bot API server, which runs in this process.

The server (tests.fake_bot_api.FakeBotApi) listens on loopback in this process's event loop; the bot
is another process and talks real HTTP to it. Driving the server's Python controls directly (rather
than its /_control/ HTTP endpoints) keeps the driver's own cost out of the way on a 2-core machine.

Each person has at most one update in flight. The bot says when an update is finished: one UDP
datagram with its update_id after `process_update` returned (bench/done_signal.py), by which time it
has received the answer to its last Bot API call. Latency runs from enqueueing the update to that
datagram's arrival (both time.monotonic() in this process). Calls to the person's chat (and answers
to their button press) are read before the person takes the next step, so the next press finds the
keyboard the last step showed.

Closed loop: N people in flight, each sends its next step as soon as the last one was finished
(maximum throughput). Open loop: steps are offered at a fixed mean rate with exponential gaps,
whatever the bot is doing (latency under a given load).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.done_signal import DoneListener
from tests.fake_bot_api import Call, FakeBotApi

VISIBLE = ("sendMessage", "editMessageText")
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
    update_id: int = 0
    query_id: str = ""
    answered: bool = False  # a visible reply or a toast arrived
    kind: str = ""  # the step: "/runs", "press Claim", ...
    delivered_at: float = 0.0  # the fake server answered the bot's getUpdates with this update


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
    silent: int = 0  # finished without any visible reply or toast
    unserved: int = 0  # open loop: offers dropped because every person was still waiting
    still_waiting: int = 0  # sent in the window, not finished 10 s after it closed
    seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)  # Bot API calls by method while measuring
    latencies_by_kind: dict[str, list[float]] = field(default_factory=dict)
    # The same latencies split in three: enqueued -> the fake server answered a getUpdates with it (the
    # bot's next long poll had to arrive) -> the bot began process_update (reading and parsing the
    # answer, the update queue, a place among the updates side by side) -> done.
    to_delivery: list[float] = field(default_factory=list)
    to_start: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank p-th percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


JourneyFactory = Callable[[random.Random], tuple[int, str, list[Step]]]


class Driver:
    def __init__(self, api: FakeBotApi, done: DoneListener, journeys: JourneyFactory, *, seed: int = 2026) -> None:
        self.api = api
        self.journeys = journeys
        self.rng = random.Random(seed)  # noqa: S311 - reproducible load, not a secret
        self.next_call = 0
        self.by_chat: dict[int, Pending] = {}
        self.by_query: dict[str, Pending] = {}
        self.by_update: dict[int, Pending] = {}
        self.busy: set[int] = set()  # people in a journey: nobody plays the same person twice at once
        self.result = PhaseResult()
        self.measuring = False
        self.window_start = 0.0
        self.on_finished: Callable[[Person], None] = lambda person: None
        self.drained = asyncio.Event()  # set when no update is in flight
        done.on_done = self._done

    # -- calls out --------------------------------------------------------------------------------

    def sync(self) -> None:
        """Skip every call made so far (a new phase starts clean)."""
        self.next_call = self.api.mark()

    def _read_calls(self) -> None:
        api = self.api
        start = max(self.next_call - api._calls_base, 0)
        calls = api.calls[start:]
        self.next_call = api.mark()
        for call in calls:
            self._take(call)

    def _take(self, call: Call) -> None:
        method, params = call.method, call.params
        if self.measuring:
            self.result.calls[method] = self.result.calls.get(method, 0) + 1
        if method == "getUpdates":
            for update in call.result if call.ok and isinstance(call.result, list) else ():
                pending = self.by_update.get(update.get("update_id"))
                if pending is not None:
                    pending.delivered_at = call.answered_at
            return
        if method == "answerCallbackQuery":
            pending = self.by_query.get(str(params.get("callback_query_id")))
            if pending is not None and params.get("text"):
                pending.answered = True
            return
        chat = params.get("chat_id")
        pending = self.by_chat.get(chat) if isinstance(chat, int) else None
        if pending is None:
            return
        if call.status != 200:
            self.result.errors += self.measuring
            return
        if method in VISIBLE:
            self._remember_keyboard(pending.user, call)
            if SLOW_DOWN.search(str(params.get("text", ""))):
                self.result.slow_downs += self.measuring
            pending.answered = True

    def _remember_keyboard(self, person: Person, call: Call) -> None:
        markup = call.params.get("reply_markup")
        result = call.response.get("result")
        if isinstance(markup, dict) and isinstance(result, dict) and "inline_keyboard" in markup:
            buttons = [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row
                       if "callback_data" in b]
            person.keyboards.appendleft((result["message_id"], buttons))

    def _done(self, update_id: int, started: float) -> None:
        """The bot finished `update_id`: every call it made for it is already recorded by the server."""
        arrived = time.monotonic()
        pending = self.by_update.pop(update_id, None)
        if pending is None:
            return  # an update from before this phase
        self._read_calls()
        self.by_chat.pop(pending.user.user_id, None)
        self.by_query.pop(pending.query_id, None)
        pending.user.pending = None
        if self.measuring and pending.sent_at >= self.window_start:
            self.result.completed += 1
            self.result.latencies.append(arrived - pending.sent_at)
            self.result.latencies_by_kind.setdefault(pending.kind, []).append(arrived - pending.sent_at)
            if pending.delivered_at:
                self.result.to_delivery.append(pending.delivered_at - pending.sent_at)
                self.result.to_start.append(started - pending.delivered_at)
            self.result.processing.append(arrived - started)
            self.result.silent += not pending.answered
        self.on_finished(pending.user)
        if not self.by_update:
            self.drained.set()

    # -- updates in -------------------------------------------------------------------------------

    def new_person(self) -> Person | None:
        """Someone not already in a journey; None when (nearly) everyone is waiting for an answer."""
        for _ in range(1000):
            user_id, language, steps = self.journeys(self.rng)
            if user_id not in self.busy:
                self.busy.add(user_id)
                return Person(user_id, language, deque(steps))
        return None

    def _next_step(self, person: Person) -> tuple[str, Any, str] | None:
        """The person's next update, or None when the journey is over (presses without a button are skipped)."""
        while person.steps:
            step = person.steps.popleft()
            if step.text:
                return "text", step.text, step.text.split()[0]  # "/runs"; the echo bot's "hello 42" is "hello"
            pattern = re.compile(step.press)
            for message_id, buttons in person.keyboards:
                matching = [button for button in buttons if pattern.search(button[0])]
                if matching:
                    button = self.rng.choice(matching)
                    buttons.remove(button)  # a single-use token does not work twice
                    return "press", (button[1], message_id), "press " + step.press.strip("^$")
            if self.measuring:
                self.result.skipped_presses += 1
                self.result.skipped_by_label[step.press] = self.result.skipped_by_label.get(step.press, 0) + 1
        return None

    def send(self, people: list[Person]) -> list[Person]:
        """Enqueue each person's next step; returns those whose journey had ended."""
        ended = []
        for person in people:
            step = self._next_step(person)
            if step is None:
                self.busy.discard(person.user_id)
                ended.append(person)
                continue
            kind, value, label = step
            pending = Pending(person, time.monotonic(), kind=label)
            person.pending = pending
            self.by_chat[person.user_id] = pending
            if kind == "text":
                queued = self.api.send_message(person.user_id, value, language_code=person.language)
            else:
                data, message_id = value
                queued = self.api.press_button(person.user_id, data, message_id=message_id)
                pending.query_id = queued["callback_query"]["id"]
                self.by_query[pending.query_id] = pending
            pending.update_id = queued["update_id"]
            self.by_update[pending.update_id] = pending
        return ended

    # -- phases -----------------------------------------------------------------------------------

    def _start_phase(self) -> float:
        self.sync()
        self.result = PhaseResult()
        self.measuring = True
        self.window_start = time.monotonic()
        return self.window_start

    async def _end_phase(self, people: list[Person], started: float) -> PhaseResult:
        """Stop counting; let the updates still in flight finish so the next phase starts clean."""
        self._read_calls()
        self.result.seconds = time.monotonic() - started
        self.measuring = False
        self.on_finished = lambda person: None
        if self.by_update:
            self.drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), 10)
        self.result.still_waiting = len(self.by_update)
        self._read_calls()
        for person in people:
            self.busy.discard(person.user_id)
        self.by_chat.clear()
        self.by_query.clear()
        self.by_update.clear()
        return self.result

    async def closed_loop(self, in_flight: int, seconds: float) -> PhaseResult:
        """`in_flight` people, each sending its next step as soon as the previous one was finished."""
        ready: asyncio.Queue[Person] = asyncio.Queue()
        self.on_finished = ready.put_nowait
        people = [person for person in (self.new_person() for _ in range(in_flight)) if person is not None]
        started = self._start_phase()
        deadline = started + seconds
        batch = list(people)
        while time.monotonic() < deadline:
            for person in self.send(batch):  # a finished journey is replaced by a new person at once
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
        return await self._end_phase(people, started)

    async def open_loop(self, rate: float, seconds: float) -> PhaseResult:
        """Offer `rate` updates a second on average (exponential gaps), from people not waiting for an answer."""
        ready: deque[Person] = deque()
        self.on_finished = ready.append
        people: list[Person] = []
        started = self._start_phase()
        deadline = started + seconds
        due = started
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
                        self.result.unserved += self.measuring
                        break
                    people.append(person)
                if not self.send([person]):
                    break
                people.remove(person)
        return await self._end_phase(people, started)
