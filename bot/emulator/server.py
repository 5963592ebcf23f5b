"""A local Telegram Bot API emulator on loopback, for the tests and the terminal sandbox.

No machine here reaches Telegram, so the real python-telegram-bot ``Application`` talks real HTTP to
this server instead.  It runs on tornado inside the caller's asyncio loop (a test runs the bot and the
server in the same loop), answers in Bot API form, keeps a per-chat record of what each chat still
shows, and checks every request against the official method list (``spec.py``): a request Telegram
would refuse is answered 400 *and* remembered in :attr:`FakeBotApi.violations`, so the test that
caused it can fail.

Tests push updates in (:meth:`FakeBotApi.send_message`, :meth:`FakeBotApi.press_button`, ...) and read
what the bot did (:attr:`FakeBotApi.calls`, :meth:`FakeBotApi.wait_for`, :meth:`FakeBotApi.live_messages`).
The same controls are served over HTTP under ``/_control/`` for running it as a separate process
(``python -m bot.emulator``).

``spec=False`` turns validation off: requests are decoded loosely and never refused.  Only the sandbox
uses it, on a machine without ``../shared`` (the tests always validate).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from .spec import ApiSpec, InputFileUpload, decode_without_spec, visible_text

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - a token-shaped placeholder
DEFAULT_BOT_ID = 7000000001
DEFAULT_BOT_USERNAME = "parcel_test_bot"
FAULT_KINDS = frozenset({"429", "500", "403_blocked", "400_not_found", "timeout"})
DEFAULT_TIMEOUT_FAULT_DELAY = 10.0
IDLE_QUIET_SECONDS = 0.05

# Telegram leaves these out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")

Json = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer (``{"ok": false, ...}``) raised by a method implementation."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> Json:
        return _error_body(self.status, self.description, self.retry_after)


@dataclass
class Call:
    """One request the bot made: method, decoded params, what we answered, when it arrived.

    Calls are listed in the order they were answered (a long poll is listed when it returns);
    ``at`` is ``time.monotonic()`` at arrival and ``answered_at`` when the answer was ready (a long
    poll's may be much later); ``problems`` are this request's spec violations.
    Status 499 marks a request whose client hung up before the answer (a cancelled long poll).
    """

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    problems: list[str] = field(default_factory=list)
    answered_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def result(self) -> Any:
        return self.response.get("result")

    def summary(self) -> str:
        """One readable line for failure reports."""
        detail = ""
        for key in ("text", "caption", "callback_query_id", "message_id", "offset"):
            if key in self.params:
                value = repr(self.params[key])
                detail = f" {key}={value[:70] + '...' if len(value) > 70 else value}"
                break
        if not self.ok:
            detail += f" -> {self.response.get('description', '')!r}"
        chat = f" chat={self.chat_id}" if self.chat_id is not None else ""
        return f"{self.method}{chat} [{self.status}]{detail}"


@dataclass
class _Fault:
    """An injected failure for the next ``remaining`` matching calls."""

    method: str | None
    kind: str
    remaining: int
    retry_after: int
    delay: float
    description: str | None

    def matches(self, method: str) -> bool:
        """``None`` matches every method but getUpdates, so polling keeps running."""
        if self.method is None:
            return method != "getUpdates"
        return self.method == method

    def answer(self, method: str) -> tuple[int, Json]:
        """The error Telegram would give for this kind of failure."""
        if self.kind == "429":
            text = self.description or f"Too Many Requests: retry after {self.retry_after}"
            return 429, _error_body(429, text, self.retry_after)
        if self.kind == "500":
            return 500, _error_body(500, self.description or "Internal Server Error")
        if self.kind == "403_blocked":
            return 403, _error_body(403, self.description or "Forbidden: bot was blocked by the user")
        return 400, _error_body(400, self.description or _not_found_description(method))


@dataclass
class _ChatState:
    """What one chat shows: visible messages by id (oldest first)."""

    chat: Json
    keep: int | None = None  # show at most this many messages (memory bound for long benchmarks)
    next_message_id: int = 1
    messages: dict[int, Json] = field(default_factory=dict)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def put(self, message: Json) -> None:
        """Show (or replace) a message; past ``keep`` messages the oldest scrolls out of memory."""
        self.messages[message["message_id"]] = message
        if self.keep is not None and len(self.messages) > self.keep:
            del self.messages[next(iter(self.messages))]


class _Signal:
    """Wake-all notification: every waiter is released by the next :meth:`notify`.

    Cheaper than a Condition and safe for many waiters: they all await one shared future.
    """

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline, not a cancel scope
        if self._future is None or self._future.done():
            self._future = asyncio.get_running_loop().create_future()
        await asyncio.wait((self._future,), timeout=timeout)

    def notify(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        self._future = None


class _Connection(Protocol):
    gone: bool


class FakeBotApi:
    """The fake Bot API: an HTTP server plus the Python controls tests use.

    Usage::

        api = FakeBotApi()
        await api.start()
        app = ApplicationBuilder().token(api.token).base_url(api.base_url)
              .base_file_url(api.base_file_url).build()
        ...
        api.send_message(1001, "/start")
        await api.wait_for("sendMessage", chat_id=1001)
        await api.stop()
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        spec: ApiSpec | Literal[False] | None = None,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        bot_first_name: str = "Parcel Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        max_calls: int | None = None,
        max_messages_per_chat: int | None = None,
    ) -> None:
        self.token = token
        # None: load the official spec (raises when it is missing); False: no validation (sandbox only).
        self.spec: ApiSpec | None = ApiSpec.load() if spec is None else (spec or None)
        self.host = host
        self.port = port
        self.max_calls = max_calls  # None: keep every call (tests); a number bounds a long-running server
        self.max_messages_per_chat = max_messages_per_chat
        self.bot_user: Json = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.uploads: list[dict[str, Any]] = []
        self._server: tornado.httpserver.HTTPServer | None = None
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._calls_base = 0  # absolute index of calls[0]; grows when old calls are trimmed
        self._calls_signal = _Signal()
        self._updates_signal = _Signal()
        self._next_update_id = 1_000_001
        self._next_callback_id = 1
        # Unix seconds for the `date` of every message; tests point it at their fake clock, so a
        # message's date and the bot's idea of now agree.
        self.now: Callable[[], float] = time.time
        self._poll_seq = 0
        self._busy = 0  # non-getUpdates requests being answered
        self._open_handlers = 0
        self._handlers_done: asyncio.Event | None = None  # set by the last handler while stopping
        self._last_activity = time.monotonic()
        self._methods: dict[str, Callable[[Json, Mapping[str, InputFileUpload]], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        self._reset_state()

    def _reset_state(self) -> None:
        """Forget chats, updates and faults; update ids keep growing so a running bot's offset stays valid."""
        self._pending: deque[Json] = deque()
        self._allowed_updates: frozenset[str] | None = None
        self._faults: list[_Fault] = []
        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, Json] = {}
        self._open_callbacks: set[str] = set()
        self.callback_answers: dict[str, Json] = {}
        self._commands: dict[tuple[str, str], list[Json]] = {}
        self._files: dict[str, tuple[bytes | None, str, str]] = {}  # file_id -> (content, path, name)
        self._webhook_url = ""

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host`` (port 0: a free port, read back into :attr:`port`) in the running loop."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already running")
        self._stopping = False
        self._stop_event = asyncio.Event()
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([^/]*)", _BotHandler, {"api": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self}),
                (r"/_control/([a-z_]+)", _ControlHandler, {"api": self}),
            ],
            default_handler_class=_NotFoundHandler,
            default_handler_args={"api": self},
            log_function=_no_access_log,
        )
        sockets = tornado.netutil.bind_sockets(self.port, self.host, family=socket.AF_INET)
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024 * 1024)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, answer held requests (long polls get [], timeout faults end), close connections."""
        if self._server is None:
            return
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        self._updates_signal.notify()
        self._calls_signal.notify()
        self._server.stop()
        if self._open_handlers:
            self._handlers_done = asyncio.Event()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._handlers_done.wait(), 2.0)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.close_all_connections(), 2.0)
        self._server = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token and the method."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    def reset(self) -> None:
        """Start a fresh scenario: forget calls, violations, uploads, chats, updates and faults."""
        self._calls_base += len(self.calls)
        self.calls.clear()
        self.violations.clear()
        self.uploads.clear()
        self._reset_state()

    # -- updates in (what users do) ------------------------------------------------------------------

    def enqueue_update(self, update: Mapping[str, Any]) -> Json:
        """Queue a raw update for getUpdates; assigns ``update_id`` when missing."""
        queued = dict(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, queued["update_id"]) + 1
        self._register_incoming(queued)
        self._pending.append(queued)
        self._updates_signal.notify()
        return queued

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str = "ru",
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Anon",
        username: str | None = None,
    ) -> Json:
        """A user writes ``text``; a leading /command gets its bot_command entity like in Telegram."""
        user = self._remember_user(user_id, first_name, username, language_code)
        chat_id = user_id if chat_id is None else chat_id
        state = self._chat_state(chat_id, _chat_object(chat_id, chat_type, user))
        message: Json = {
            "message_id": state.take_message_id(),
            "from": user,
            "chat": state.chat,
            "date": int(self.now()),
            "text": text,
        }
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        return self.enqueue_update({"message": message})  # which records it in the chat

    def press_button(
        self, user_id: int, callback_data: str, *, message_id: int | None = None, chat_id: int | None = None
    ) -> Json:
        """A user presses an inline button; the query carries the message the keyboard was on.

        Without ``message_id`` that is the last bot message with an inline keyboard in the chat.  A
        message that is gone is sent as an inaccessible message (``date`` 0), as Telegram does.
        """
        chat_id = user_id if chat_id is None else chat_id
        state = self._chats.get(chat_id)
        if message_id is None:
            message = self._last_bot_message(chat_id, with_keyboard=True) or self._last_bot_message(chat_id)
            if message is None:
                raise LookupError(f"chat {chat_id} shows no bot message to press a button on")
        else:
            message = state.messages.get(message_id) if state else None
            if message is None:
                chat = state.chat if state else _chat_object(chat_id, "private", self._user(user_id))
                message = {"chat": chat, "message_id": message_id, "date": 0}
        query_id = str(4_200_000_000_000_000_000 + self._next_callback_id)
        self._next_callback_id += 1
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "message": message,
            "chat_instance": str(-8_000_000_000_000_000 - chat_id),
            "data": callback_data,
        }
        return self.enqueue_update({"callback_query": query})

    def edit_message(self, user_id: int, message_id: int, new_text: str) -> Json:
        """A user edits one of their own messages in their private chat with the bot."""
        state = self._chats.get(user_id)
        old = state.messages.get(message_id) if state else None
        if state is None or old is None or old.get("from", {}).get("id") != user_id:
            raise LookupError(f"user {user_id} has no message {message_id} to edit")
        edited = {k: v for k, v in old.items() if k != "entities"}
        edited.update(text=new_text, edit_date=int(self.now()))
        entities = _command_entities(new_text)
        if entities:
            edited["entities"] = entities
        return self.enqueue_update({"edited_message": edited})

    # -- what the bot did --------------------------------------------------------------------------

    def mark(self) -> int:
        """The index the next call will get; pass it as ``since`` to only look at later calls."""
        return self._calls_base + len(self.calls)

    def calls_to(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if _call_matches(c, method, chat_id, None)]

    async def wait_for(
        self,
        method: str | None,
        *,
        count: int = 1,
        chat_id: int | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the public API tests use
        since: int = 0,
    ) -> list[Call]:
        """Wait until ``count`` matching calls exist at index >= ``since``; return the first ``count``.

        Raises AssertionError with the recent calls and violations, so a failing test says why.
        """
        deadline = time.monotonic() + timeout
        matches: list[Call] = []
        scanned = since
        while True:
            start = max(scanned - self._calls_base, 0)
            matches.extend(c for c in self.calls[start:] if _call_matches(c, method, chat_id, predicate))
            scanned = self.mark()
            if len(matches) >= count:
                return matches[:count]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping:
                what = f"{count} x {method or 'any method'}" + (f" to chat {chat_id}" if chat_id else "")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what} since call #{since}; "
                    f"got {len(matches)}.\n{self.report()}"
                )
            await self._calls_signal.wait(remaining)

    async def wait_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - public API
        """Wait until every queued update was confirmed and no request came for ~50 ms.

        Confirmation (a later getUpdates offset) only proves PTB *fetched* the updates; the quiet
        window is what lets its handlers finish their replies.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet_for = now - self._last_activity
            if not self._pending and self._busy == 0 and quiet_for >= IDLE_QUIET_SECONDS:
                return
            if now >= deadline:
                raise AssertionError(
                    f"not idle after {timeout}s: {len(self._pending)} updates not confirmed by getUpdates, "
                    f"{self._busy} requests in flight.\n{self.report()}"
                )
            await asyncio.sleep(min(max(IDLE_QUIET_SECONDS - quiet_for, 0.005), deadline - now))

    async def wait_delivered(self, update_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - public API
        """Wait until the bot confirmed ``update_id`` (asked getUpdates for a later offset).

        PTB puts fetched updates into ``Application.update_queue`` before it polls again, so after this
        ``await application.update_queue.join()`` waits for exactly the work the update caused.
        """
        deadline = time.monotonic() + timeout
        while self._pending and self._pending[0]["update_id"] <= update_id:
            if time.monotonic() >= deadline or self._stopping:
                raise AssertionError(f"update {update_id} not fetched after {timeout}s.\n{self.report()}")
            await asyncio.sleep(0.005)

    def report(self, last: int = 15) -> str:
        """The recent calls and violations, for assertion messages."""
        first = len(self.calls) - min(last, len(self.calls))
        lines = [f"  #{self._calls_base + i} {c.summary()}" for i, c in enumerate(self.calls[first:], first)]
        text = "recent calls:\n" + ("\n".join(lines) if lines else "  (none)")
        if self.violations:
            text += "\nviolations:\n" + "\n".join(f"  {v}" for v in self.violations[-10:])
        return text

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts the bot successfully sent or edited into ``chat_id``, in order, as the bot wrote them."""
        return [
            c.params["text"]
            for c in self.calls
            if c.method in ("sendMessage", "editMessageText")
            and c.status == 200
            and c.params.get("chat_id") == chat_id
            and "text" in c.params
        ]

    def live_messages(self, chat_id: int, *, include_user: bool = False) -> dict[int, Json]:
        """message_id -> message the chat still shows (bot messages; users' too if asked)."""
        state = self._chats.get(chat_id)
        if state is None:
            return {}
        bot_id = self.bot_user["id"]
        return {
            mid: msg
            for mid, msg in state.messages.items()
            if include_user or msg.get("from", {}).get("id") == bot_id
        }

    def last_markup(self, chat_id: int) -> Json | None:
        """reply_markup (inline keyboard) of the last bot message the chat shows."""
        message = self._last_bot_message(chat_id)
        return message.get("reply_markup") if message else None

    def deleted_ids(self, chat_id: int) -> list[int]:
        """Message ids the bot deleted in this chat, by deleteMessage or deleteMessages (successful calls)."""
        ids: list[int] = []
        for call in self.calls:
            if call.ok and call.params.get("chat_id") == chat_id:
                if call.method == "deleteMessage":
                    ids.append(call.params["message_id"])
                elif call.method == "deleteMessages":
                    ids.extend(call.params["message_ids"])
        return ids

    def buttons(self, chat_id: int) -> list[tuple[str, str]]:
        """(text, callback_data) of the last bot message with an inline keyboard ("" if not a callback)."""
        message = self._last_bot_message(chat_id, with_keyboard=True)
        if message is None:
            return []
        rows = message["reply_markup"]["inline_keyboard"]
        return [(button.get("text", ""), button.get("callback_data", "")) for row in rows for button in row]

    # -- faults ------------------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str | None,
        kind: str,
        *,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (None: any but getUpdates) fail as ``kind``.

        "timeout" holds the request ``delay`` seconds (default 10) and then answers normally, so the
        client times out although Telegram did the work — exactly the ambiguous case bots must survive.
        Other kinds wait ``delay`` seconds (if any) before answering the error.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if kind == "timeout" and delay <= 0:
            delay = DEFAULT_TIMEOUT_FAULT_DELAY
        self._faults.append(_Fault(method, kind, count, retry_after, delay, description))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- request handling --------------------------------------------------------------------------

    async def handle(
        self,
        token: str,
        method: str,
        raw: Mapping[str, Any],
        files: Mapping[str, InputFileUpload],
        conn: _Connection,
    ) -> tuple[int, Json] | None:
        """Answer one Bot API request; None when the client left before the answer (a dropped poll)."""
        arrived = time.monotonic()
        if token != self.token:
            return self._record(method, dict(raw), 401, _error_body(401, "Unauthorized"), arrived, [])
        if self.spec is None:
            params = {**decode_without_spec(raw), **files}
            problems: list[str] = []
        else:
            params = self.spec.decode_params(method, raw)
            method_spec = self.spec.methods.get(method)
            for name, upload in files.items():
                if method_spec is not None and name in method_spec.fields:
                    params[name] = upload
            problems = self.spec.problems(method, params)
        if problems:
            self.violations.extend(f"{method}: {p}" for p in problems)
        polling = method == "getUpdates"
        if not polling:
            self._busy += 1
            self._last_activity = arrived
        try:
            answer = await self._answer(method, params, files, problems, conn)
        finally:
            if not polling:
                self._busy -= 1
                self._last_activity = time.monotonic()
        if answer is None:
            self._record(
                method, params, 499, {"ok": False, "description": "client closed the connection"}, arrived, []
            )
            return None
        return self._record(method, params, answer[0], answer[1], arrived, problems)

    async def _answer(
        self,
        method: str,
        params: Json,
        files: Mapping[str, InputFileUpload],
        problems: list[str],
        conn: _Connection,
    ) -> tuple[int, Json] | None:
        """Unknown method -> 404; injected fault; spec violation -> 400; else run the method."""
        if not self._knows(method):
            return 404, _error_body(404, "Not Found")
        fault = self._take_fault(method)
        if fault is not None:
            if fault.delay > 0:
                await self._hold(fault.delay)
            if fault.kind != "timeout":
                return fault.answer(method)
        if problems:
            return 400, _error_body(400, f"Bad Request: {problems[0]}")
        try:
            if method == "getUpdates":
                updates = await self._get_updates(params, conn)
                return None if updates is None else (200, {"ok": True, "result": updates})
            implementation = self._methods.get(method) or self._generic(method)
            return 200, {"ok": True, "result": implementation(params, files)}
        except ApiError as exc:
            return exc.status, exc.body()
        except Exception as exc:  # a bug in the fake must fail the test loudly, not look like Telegram
            self.violations.append(f"{method}: the fake server crashed: {exc!r}")
            return 500, _error_body(500, f"Internal Server Error (fake server bug: {exc!r})")

    def _knows(self, method: str) -> bool:
        """A method of the official list; without the spec, one we implement or can answer generically."""
        if self.spec is not None:
            return method in self.spec.methods
        return method in self._methods or method == "getUpdates" or _generic_return(method) is not None

    def _record(
        self, method: str, params: Json, status: int, body: Json, arrived: float, problems: list[str]
    ) -> tuple[int, Json]:
        self.calls.append(Call(method, params, status, body, arrived, problems, time.monotonic()))
        if self.max_calls is not None and len(self.calls) > self.max_calls:
            drop = len(self.calls) - self.max_calls // 2
            del self.calls[:drop]
            self._calls_base += drop
        self._calls_signal.notify()
        return status, body

    async def _hold(self, delay: float) -> None:
        """Sleep, but let :meth:`stop` cut it short."""
        if self._stop_event is None:
            raise RuntimeError("FakeBotApi is not running")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), delay)

    def _handler_finished(self) -> None:
        self._open_handlers -= 1
        if self._open_handlers == 0 and self._handlers_done is not None:
            self._handlers_done.set()

    def _client_gone(self) -> None:
        """A connection closed: wake long polls so the dropped one can end."""
        self._updates_signal.notify()

    # -- getUpdates ----------------------------------------------------------------------------------

    async def _get_updates(self, params: Json, conn: _Connection) -> list[Json] | None:
        """A real long poll: confirm below ``offset``, then wait up to ``timeout`` s for updates."""
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        limit = min(max(params.get("limit", 100), 1), 100)
        deadline = time.monotonic() + max(params.get("timeout", 0), 0)
        self._poll_seq += 1
        mine = self._poll_seq
        self._updates_signal.notify()  # an older poll still waiting is terminated (409), as Telegram does
        while True:
            batch = self._deliverable(limit)
            if batch or self._stopping:
                return batch
            if conn.gone:
                return None
            if mine != self._poll_seq:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self._updates_signal.wait(remaining)

    def _confirm(self, offset: int | None) -> None:
        """Updates below ``offset`` are confirmed and forgotten; a negative offset keeps the last -N."""
        if offset is None:
            return
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0]["update_id"] < offset:
            pending.popleft()

    def _deliverable(self, limit: int) -> list[Json]:
        """The first ``limit`` pending updates of an allowed type (others are dropped, as Telegram does)."""
        allowed = self._allowed_updates
        kept: list[Json] = []
        dropped: set[int] = set()
        for update in self._pending:
            kind = _update_kind(update)
            if (kind in allowed) if allowed is not None else (kind not in _OPT_IN_UPDATES):
                kept.append(update)
                if len(kept) >= limit:
                    break
            else:
                dropped.add(update["update_id"])
        if dropped:
            self._pending = deque(u for u in self._pending if u["update_id"] not in dropped)
        return kept

    # -- chats and messages --------------------------------------------------------------------------

    def _register_incoming(self, update: Mapping[str, Any]) -> None:
        """Record a raw update's message in its chat, so the bot can reply to it or delete it."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
                continue
            message_id = message.get("message_id")
            if not isinstance(message_id, int) or not isinstance(message["chat"].get("id"), int):
                continue
            state = self._chat_state(message["chat"]["id"], message["chat"])
            state.put(message)
            state.next_message_id = max(state.next_message_id, message_id + 1)
            sender = message.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int) and not sender.get("is_bot"):
                self._users.setdefault(sender["id"], sender)

    def _remember_user(self, user_id: int, first_name: str, username: str | None, language_code: str) -> Json:
        user: Json = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _user(self, user_id: int) -> Json:
        return self._users.get(user_id) or self._remember_user(user_id, "Anon", None, "ru")

    def _chat_state(self, chat_id: int, chat: Json | None = None) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState(
                chat or _guess_chat(chat_id), self.max_messages_per_chat
            )
        elif chat is not None:
            state.chat = chat
        return state

    def _target_chat(self, chat_id: int | str) -> _ChatState:
        """The chat a bot method addresses; "@name" chats do not exist here."""
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat_state(chat_id)

    def _last_bot_message(self, chat_id: int, *, with_keyboard: bool = False) -> Json | None:
        state = self._chats.get(chat_id)
        if state is None:
            return None
        bot_id = self.bot_user["id"]
        for message in reversed(state.messages.values()):
            if message.get("from", {}).get("id") != bot_id:
                continue
            if with_keyboard and "inline_keyboard" not in message.get("reply_markup", {}):
                continue
            return message
        return None

    def _new_bot_message(self, state: _ChatState, params: Json) -> Json:
        """A message from the bot in ``state``'s chat, with reply and inline keyboard as sent."""
        message: Json = {
            "message_id": state.take_message_id(),
            "from": self.bot_user,
            "chat": state.chat,
            "date": int(self.now()),
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            replied = state.messages.get(reply.get("message_id"))  # type: ignore[arg-type]
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        _attach_inline_keyboard(message, params)
        return message

    def _editable(self, params: Json) -> tuple[_ChatState, Json]:
        """The bot message an edit* call addresses, or the error Telegram gives."""
        state = self._chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        message = state.messages.get(params.get("message_id")) if state else None  # type: ignore[arg-type]
        if state is None or message is None:
            if "message_id" not in params:
                raise ApiError(400, "Bad Request: message identifier is not specified")
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return state, message

    # -- Bot API methods -----------------------------------------------------------------------------

    def _get_me(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        state = self._target_chat(params["chat_id"])
        message = self._new_bot_message(state, params)
        message["text"] = visible_text(params["text"], params.get("parse_mode"))
        if params.get("entities"):
            message["entities"] = params["entities"]
        state.put(message)
        return message

    def _edit_message_text(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json | bool:
        if "inline_message_id" in params:
            return True
        if "text" not in params:
            raise ApiError(400, "Bad Request: text must be non-empty")
        state, old = self._editable(params)
        if "text" not in old:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = visible_text(params["text"], params.get("parse_mode"))
        return self._replace_message(state, old, params, {"text": text, "entities": params.get("entities")})

    def _edit_message_caption(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json | bool:
        if "inline_message_id" in params:
            return True
        state, old = self._editable(params)
        if "text" in old:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = visible_text(params.get("caption", ""), params.get("parse_mode"))
        return self._replace_message(state, old, params, {"caption": caption or None})

    def _edit_message_reply_markup(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json | bool:
        if "inline_message_id" in params:
            return True
        state, old = self._editable(params)
        return self._replace_message(state, old, params, {})

    def _replace_message(self, state: _ChatState, old: Json, params: Json, content: Json) -> Json:
        """Apply an edit; an edit that changes nothing is refused like Telegram does."""
        edited = {k: v for k, v in old.items() if k not in ("reply_markup", "edit_date")}
        for key, value in content.items():
            if value is None:
                edited.pop(key, None)
            else:
                edited[key] = value
        _attach_inline_keyboard(edited, params)
        unchanged = {k: v for k, v in old.items() if k != "edit_date"}
        if edited == unchanged:
            raise ApiError(400, _NOT_MODIFIED)
        edited["edit_date"] = int(self.now())
        state.put(edited)
        return edited

    def _answer_callback_query(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._open_callbacks:
            raise ApiError(400, _QUERY_INVALID)
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    def _delete_message(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        state = self._chats.get(params["chat_id"])
        message = state.messages.pop(params["message_id"], None) if state else None
        if state is None or message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _delete_messages(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        """Ids that cannot be found are skipped, as documented."""
        state = self._chats.get(params["chat_id"])
        if state is not None:
            for message_id in params["message_ids"]:
                state.messages.pop(message_id, None)
        return True

    def _set_my_commands(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        self._commands[_commands_key(params)] = params["commands"]
        return True

    def _delete_my_commands(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    def _get_my_commands(self, params: Json, files: Mapping[str, InputFileUpload]) -> list[Json]:
        return self._commands.get(_commands_key(params), [])

    def _send_photo(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        return self._send_media("sendPhoto", "photo", params, files)

    def _send_document(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        return self._send_media("sendDocument", "document", params, files)

    def _send_media(self, method: str, kind: str, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        """Send a photo or document; uploaded parts are kept (bytes included) in :attr:`uploads`."""
        state = self._target_chat(params["chat_id"])
        message = self._new_bot_message(state, params)
        for name, upload in files.items():
            self.uploads.append(
                {
                    "method": method,
                    "chat_id": params["chat_id"],
                    "field": name,
                    "filename": upload.filename,
                    "content": upload.content,
                    "params": params,
                }
            )
        file_object = self._file_object(kind, params[kind], state.chat["id"], message["message_id"])
        message[kind] = [file_object] if kind == "photo" else file_object
        if params.get("caption"):
            message["caption"] = visible_text(params["caption"], params.get("parse_mode"))
        state.put(message)
        return message

    def _file_object(self, kind: str, value: Any, chat_id: int, message_id: int) -> Json:
        """A PhotoSize or Document for an upload (stored for getFile) or a resent file_id/URL."""
        if isinstance(value, InputFileUpload):
            file_id = f"{kind}-{chat_id}-{message_id}"
            path = f"{kind}s/file_{len(self._files)}_{value.filename}"
            self._files[file_id] = (value.content, path, value.filename)
            content, name, mime = value.content, value.filename, value.content_type
        else:
            file_id = str(value)
            content, _, name = self._files.get(file_id, (None, "", "file"))
            mime = "application/octet-stream"
        size = len(content) if content is not None else 0
        base = {"file_id": file_id, "file_unique_id": f"u{abs(hash(file_id)) % 10**12}", "file_size": size}
        if kind == "photo":
            return {**base, "width": 320, "height": 240}
        return {**base, "file_name": name, "mime_type": mime}

    def _get_file(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        known = self._files.get(params["file_id"])
        if known is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        content, path, _ = known
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"u{abs(hash(params['file_id'])) % 10**12}",
            "file_size": len(content or b""),
            "file_path": path,
        }

    def _set_webhook(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        self._webhook_url = params.get("url", "")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _delete_webhook(self, params: Json, files: Mapping[str, InputFileUpload]) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _generic(self, method: str) -> Callable[[Json, Mapping[str, InputFileUpload]], Any]:
        """Valid methods without a dedicated fake: Boolean ones succeed, send* ones make a message.

        Anything else is answered 501 and reported as a violation, so a bot that starts using a new
        method fails loudly until the fake learns it.
        """
        returns = self.spec.methods[method].returns if self.spec is not None else _generic_return(method)
        if returns == ("Boolean",):
            return lambda params, files: True
        if "Message" in returns and method.startswith("send"):
            return self._send_generic
        self.violations.append(
            f"{method}: valid Bot API method not implemented by the fake server (bot/emulator)"
        )

        def not_implemented(params: Json, files: Mapping[str, InputFileUpload]) -> Any:
            raise ApiError(501, f"Not Implemented: the fake Bot API has no {method}")

        return not_implemented

    def _send_generic(self, params: Json, files: Mapping[str, InputFileUpload]) -> Json:
        state = self._target_chat(params["chat_id"])
        message = self._new_bot_message(state, params)
        for key in ("text", "caption"):
            if params.get(key):
                message[key] = visible_text(params[key], params.get("parse_mode"))
        state.put(message)
        return message

    # -- control API (used by the HTTP /_control/ endpoints) -----------------------------------------

    def control_enqueue(self, item: Mapping[str, Any]) -> Json:
        """One item of POST /_control/updates: a raw update or a message/callback/edit shortcut."""
        message = item.get("message")
        if isinstance(message, dict) and "user_id" in message:
            fields = dict(message)
            return self.send_message(fields.pop("user_id"), fields.pop("text"), **fields)
        callback = item.get("callback")
        if isinstance(callback, dict):
            fields = dict(callback)
            data = fields.pop("data", None) or fields.pop("callback_data")
            return self.press_button(fields.pop("user_id"), data, **fields)
        edit = item.get("edit")
        if isinstance(edit, dict):
            return self.edit_message(edit["user_id"], edit["message_id"], edit["text"])
        return self.enqueue_update(item)

    def calls_since(self, since: int) -> list[Json]:
        """Calls at absolute index >= ``since`` as JSON-friendly dicts."""
        start = max(since - self._calls_base, 0)
        return [
            {"index": self._calls_base + i, **_call_json(call)}
            for i, call in enumerate(self.calls[start:], start)
        ]


# -- helpers ------------------------------------------------------------------------------------------


def _generic_return(method: str) -> tuple[str, ...] | None:
    """Without the spec, guess a method's return from its name: send* a Message, set*/delete*/... True."""
    if method.startswith("send"):
        return ("Message",)
    if method.startswith(("set", "delete", "unpin", "pin", "ban", "unban", "restrict", "leave", "close")):
        return ("Boolean",)
    return None


def _error_body(status: int, description: str, retry_after: int | None = None) -> Json:
    body: Json = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _not_found_description(method: str) -> str:
    if method.startswith("delete"):
        return "Bad Request: message to delete not found"
    if method.startswith("edit"):
        return "Bad Request: message to edit not found"
    return "Bad Request: chat not found"


def _call_matches(
    call: Call, method: str | None, chat_id: int | None, predicate: Callable[[Call], bool] | None
) -> bool:
    return (
        (method is None or call.method == method)
        and (chat_id is None or call.params.get("chat_id") == chat_id)
        and (predicate is None or predicate(call))
    )


def _call_json(call: Call) -> Json:
    return {
        "method": call.method,
        "params": call.params,
        "status": call.status,
        "response": call.response,
        "at": call.at,
        "problems": call.problems,
    }


def _update_kind(update: Mapping[str, Any]) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


def _chat_object(chat_id: int, chat_type: str, user: Json) -> Json:
    if chat_type == "private":
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat
    return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {abs(chat_id)}"}


def _guess_chat(chat_id: int) -> Json:
    """A chat the bot writes to before anyone wrote to it: private for positive ids, as in Telegram."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Anon"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"Test {kind} {abs(chat_id)}"}


def _command_entities(text: str) -> list[Json]:
    """The bot_command entity Telegram adds for a leading /command (length in UTF-16 code units)."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(match.group().encode("utf-16-le")) // 2}]


def _attach_inline_keyboard(message: Json, params: Mapping[str, Any]) -> None:
    """Telegram echoes only inline keyboards in the returned Message; reply keyboards are not shown."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup


def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code") or ""


def _json_default(value: Any) -> Any:
    if isinstance(value, InputFileUpload):
        return value.summary()
    if isinstance(value, bytes):
        return {"bytes": len(value)}
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """Tornado logs every request by default; at benchmark rates that is pure overhead."""


def _read_request(request: Any) -> tuple[dict[str, Any], dict[str, InputFileUpload]]:
    """Query string plus body: form-encoded, multipart (files kept apart) or JSON."""
    raw: dict[str, Any] = {
        name: values[-1].decode("utf-8") for name, values in request.query_arguments.items()
    }
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        raw.update(body)
    else:
        for name, values in request.body_arguments.items():
            raw[name] = values[-1].decode("utf-8")
    files = {
        name: InputFileUpload(name, parts[0].filename, parts[0].content_type, parts[0].body)
        for name, parts in request.files.items()
    }
    return raw, files


# -- tornado handlers ---------------------------------------------------------------------------------


class _Handler(tornado.web.RequestHandler):
    """Shared plumbing: JSON answers, no ETag hashing, and a flag for clients that hung up."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api
        self.gone = False

    def compute_etag(self) -> None:
        return None

    def on_connection_close(self) -> None:
        self.gone = True
        self.api._client_gone()

    def send_json(self, status: int, body: Any) -> None:
        if self.gone:
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            self.finish(encode_json(body))


class _BotHandler(_Handler):
    """``/bot<token>/<method>``: the Bot API itself (GET or POST, like Telegram)."""

    async def post(self, token: str, method: str) -> None:
        self.api._open_handlers += 1
        try:
            try:
                raw, files = _read_request(self.request)
            except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
                self.send_json(400, _error_body(400, f"Bad Request: can't parse request: {exc}"))
                return
            answer = await self.api.handle(token, method, raw, files, self)
            if answer is None:
                self._auto_finish = False  # the client left; nothing to write
                return
            self.send_json(*answer)
        finally:
            self.api._handler_finished()

    get = post


class _FileHandler(_Handler):
    """``/file/bot<token>/<file_path>``: downloads of files the bot uploaded."""

    def get(self, token: str, path: str) -> None:
        if token != self.api.token:
            self.send_json(401, _error_body(401, "Unauthorized"))
            return
        for content, file_path, _ in self.api._files.values():
            if file_path == path and content is not None:
                self.set_header("Content-Type", "application/octet-stream")
                self.finish(content)
                return
        self.send_json(404, _error_body(404, "Not Found"))


class _ControlHandler(_Handler):
    """``/_control/<action>``: the Python controls as JSON, for a server in another process."""

    async def get(self, action: str) -> None:
        api = self.api
        if action == "calls":
            since = int(self.get_argument("since", "0"))
            self.send_json(200, {"ok": True, "result": api.calls_since(since), "next": api.mark()})
        elif action == "violations":
            self.send_json(200, {"ok": True, "result": api.violations})
        elif action == "state":
            chat_id = int(self.get_argument("chat_id"))
            live = {str(k): v for k, v in api.live_messages(chat_id, include_user=True).items()}
            self.send_json(200, {"ok": True, "result": {"live": live, "buttons": api.buttons(chat_id)}})
        elif action == "wait":
            await self._wait()
        elif action == "idle":
            try:
                await api.wait_idle(float(self.get_argument("timeout", "5")))
            except AssertionError as exc:
                self.send_json(408, {"ok": False, "description": str(exc)})
                return
            self.send_json(200, {"ok": True, "result": True})
        else:
            self.send_json(404, _error_body(404, f"no control action {action!r}"))

    async def _wait(self) -> None:
        chat_id = self.get_argument("chat_id", None)
        try:
            calls = await self.api.wait_for(
                self.get_argument("method", None),
                count=int(self.get_argument("count", "1")),
                chat_id=int(chat_id) if chat_id is not None else None,
                timeout=float(self.get_argument("timeout", "5")),
                since=int(self.get_argument("since", "0")),
            )
        except AssertionError as exc:
            self.send_json(408, {"ok": False, "description": str(exc)})
            return
        self.send_json(200, {"ok": True, "result": [_call_json(c) for c in calls]})

    def post(self, action: str) -> None:
        api = self.api
        try:
            body = json.loads(self.request.body or b"{}")
            if action == "updates":
                items: Iterable[Any] = body if isinstance(body, list) else [body]
                queued = [api.control_enqueue(item) for item in items]
                self.send_json(200, {"ok": True, "result": queued if isinstance(body, list) else queued[0]})
            elif action == "fault":
                api.inject_fault(
                    body.get("method"),
                    body["kind"],
                    **{k: v for k, v in body.items() if k not in ("method", "kind")},
                )
                self.send_json(200, {"ok": True, "result": True})
            elif action == "reset":
                api.reset()
                self.send_json(200, {"ok": True, "result": True})
            else:
                self.send_json(404, _error_body(404, f"no control action {action!r}"))
        except (ValueError, KeyError, TypeError, LookupError) as exc:
            self.send_json(
                400, {"ok": False, "error_code": 400, "description": f"{type(exc).__name__}: {exc}"}
            )


class _NotFoundHandler(_Handler):
    """Any other path: a Bot API style 404."""

    def prepare(self) -> None:
        self.send_json(404, _error_body(404, "Not Found"))
