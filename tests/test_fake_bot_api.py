"""The fake Bot API server, driven by a real python-telegram-bot Application over loopback HTTP.

These tests pin down what the rest of the suite relies on: updates reach PTB handlers, what the bot
sends is recorded and validated against the official method list, and injected faults surface in
PTB as the exceptions real Telegram would cause.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from tests.fake_bot_api import ApiSpec, ApiSpecNotFoundError, FakeBotApi
from tests.fake_bot_api.spec import SPEC_ENV_VAR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
USER = 424242  # an invented volunteer
OTHER_USER = 535353


# -- a minimal bot -------------------------------------------------------------------------------------


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Take parcel", callback_data="take:7")],
            [InlineKeyboardButton("Skip", callback_data="skip")],
        ]
    )
    await update.effective_message.reply_text(
        "Welcome, <b>courier</b>", parse_mode="HTML", reply_markup=keyboard
    )


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Noted")
    await query.edit_message_text(f"You chose {query.data}")


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def _build_app(api: FakeBotApi, **timeouts: float) -> Application:
    builder = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .get_updates_read_timeout(2)
    )
    for name, value in timeouts.items():
        builder = getattr(builder, name)(value)
    app = builder.build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    return app


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[Application]:
    """The echo bot, polling the fake server (poll timeout 1 s so stop() is quick)."""
    application = _build_app(api)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(timeout=1, poll_interval=0)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


@pytest.fixture
async def bot_app(api: FakeBotApi) -> AsyncIterator[Application]:
    """The same bot initialised but not polling, for calling Bot methods directly."""
    application = _build_app(api)
    await application.initialize()
    yield application
    await application.shutdown()


async def _raw(api: FakeBotApi, method: str, *, token: str | None = None, **kwargs: object) -> httpx.Response:
    """A request from a client that is not PTB, to reach what PTB would never send."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"{api.base_url}{token or api.token}/{method}", **kwargs)  # type: ignore[arg-type]


# -- end to end with PTB ---------------------------------------------------------------------------


async def test_echo_end_to_end(api: FakeBotApi, app: Application) -> None:
    api.send_message(USER, "Hello from a volunteer")
    [call] = await api.wait_for("sendMessage", chat_id=USER)
    assert call.ok and call.params["text"] == "Hello from a volunteer"
    await api.wait_idle()
    assert api.sent_texts(USER) == ["Hello from a volunteer"]
    [(message_id, message)] = api.live_messages(USER).items()
    assert message["text"] == "Hello from a volunteer" and message["from"]["username"] == "parcel_test_bot"
    assert len(api.live_messages(USER, include_user=True)) == 2
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]
    assert api.violations == []


async def test_command_with_bot_mention_is_routed(api: FakeBotApi, app: Application) -> None:
    update = api.send_message(USER, "/start@parcel_test_bot")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 22}]
    await api.wait_for("sendMessage", chat_id=USER)
    assert api.buttons(USER) == [("Take parcel", "take:7"), ("Skip", "skip")]
    [shown] = api.live_messages(USER).values()
    assert shown["text"] == "Welcome, courier"  # what the user sees: HTML markup removed
    assert api.sent_texts(USER) == ["Welcome, <b>courier</b>"]  # what the bot wrote
    assert api.violations == []


async def test_button_press_reaches_callback_handler(api: FakeBotApi, app: Application) -> None:
    api.send_message(USER, "/start")
    [sent] = await api.wait_for("sendMessage", chat_id=USER)
    since = api.mark()
    update = api.press_button(USER, "take:7")
    assert update["callback_query"]["message"]["message_id"] == sent.result["message_id"]
    [answer] = await api.wait_for("answerCallbackQuery", since=since)
    assert answer.params == {"callback_query_id": update["callback_query"]["id"], "text": "Noted"}
    await api.wait_for("editMessageText", chat_id=USER, since=since)
    assert api.sent_texts(USER)[-1] == "You chose take:7"
    assert api.last_markup(USER) is None  # an edit without reply_markup removes the keyboard
    assert api.violations == []


async def test_user_edit_and_group_chat_updates(api: FakeBotApi, app: Application) -> None:
    first = api.send_message(USER, "typo", chat_id=-1001234, chat_type="supergroup", first_name="Testa")
    assert first["message"]["chat"]["type"] == "supergroup"
    await api.wait_for("sendMessage", chat_id=-1001234)
    api.send_message(OTHER_USER, "note")
    await api.wait_for("sendMessage", chat_id=OTHER_USER)
    edited = api.edit_message(OTHER_USER, 1, "note, fixed")
    assert edited["edited_message"]["text"] == "note, fixed"
    await api.wait_for("sendMessage", chat_id=OTHER_USER, count=2)
    assert api.sent_texts(OTHER_USER) == ["note", "note, fixed"]


# -- validation ------------------------------------------------------------------------------------


async def test_missing_required_field_is_a_violation(api: FakeBotApi) -> None:
    response = await _raw(api, "sendMessage", data={"chat_id": str(USER)})
    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: text: required field missing"
    assert api.violations == ["sendMessage: text: required field missing"]


async def test_unknown_field_is_a_violation(api: FakeBotApi, bot_app: Application) -> None:
    with pytest.raises(BadRequest, match="unknown field"):
        await bot_app.bot.send_message(USER, "hi", api_kwargs={"colour": "red"})
    assert api.violations == ["sendMessage: colour: unknown field (not a parameter of sendMessage)"]


async def test_text_longer_than_4096_characters_is_refused(api: FakeBotApi, bot_app: Application) -> None:
    await bot_app.bot.send_message(USER, "я" * 4096)  # characters, not bytes: 8192 bytes is fine
    with pytest.raises(BadRequest, match="4097"):
        await bot_app.bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="1-4096"):
        await bot_app.bot.send_message(USER, "<b></b>", parse_mode="HTML")  # empty after parsing
    assert api.violations == [
        "sendMessage: text: must be 1-4096 characters, got 4097",
        "sendMessage: text: must be 1-4096 characters, got 0",
    ]


async def test_callback_data_over_64_bytes_is_refused(api: FakeBotApi, bot_app: Application) -> None:
    too_long = "й" * 33  # 33 characters but 66 bytes of UTF-8
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=too_long)]])
    with pytest.raises(BadRequest, match="64 bytes"):
        await bot_app.bot.send_message(USER, "choose", reply_markup=keyboard)
    assert api.violations == [
        "sendMessage: reply_markup.inline_keyboard[0][0].callback_data: must be 1-64 bytes, got 66"
    ]
    assert api.live_messages(USER) == {}


async def test_keyboard_and_command_rules(api: FakeBotApi, bot_app: Application) -> None:
    bot = bot_app.bot
    with pytest.raises(BadRequest):
        await bot.send_message(
            USER, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("No action")]])
        )
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start", "Begin")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    with pytest.raises(BadRequest, match="can't parse entities"):
        await bot.send_message(USER, "2 < 3", parse_mode="HTML")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query("42", text="x" * 201)
    assert len(api.violations) == 5, api.violations
    assert await bot.set_my_commands([BotCommand("start", "Begin")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]


async def test_what_ptb_sends_with_defaults_is_not_a_violation(api: FakeBotApi) -> None:
    """PTB's Defaults add parse_mode/protect_content even to methods without them; Telegram ignores that."""
    defaults = Defaults(parse_mode="HTML", protect_content=True, disable_notification=True, do_quote=True)
    app = ApplicationBuilder().token(api.token).base_url(api.base_url).defaults(defaults).build()
    await app.initialize()
    try:
        bot = app.bot
        incoming = api.enqueue_update(
            {
                "message": {
                    "message_id": 5,
                    "date": 0,
                    "chat": {"id": USER, "type": "private", "first_name": "Testa"},
                    "from": {"id": USER, "is_bot": False, "first_name": "Testa"},
                    "text": "raw update",
                }
            }
        )
        assert incoming["update_id"] > 0
        await bot.send_message(USER, "quoted", reply_parameters=ReplyParameters(5))
        await bot.send_message(
            USER, "pick", reply_markup=ReplyKeyboardMarkup([["One", "Two"]], resize_keyboard=True)
        )
        await bot.send_message(USER, "gone", reply_markup=ReplyKeyboardRemove())
        menu = InlineKeyboardMarkup([[InlineKeyboardButton("Docs", url="https://example.org")]])
        sent = await bot.send_message(USER, "menu", reply_markup=menu)
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=None)
        await bot.set_my_commands(
            [BotCommand("help", "Help")], scope=BotCommandScopeChat(USER), language_code="ru"
        )
        await bot.delete_messages(USER, [sent.message_id, 12345])
        with pytest.raises(BadRequest, match="replied not found"):
            await bot.send_message(USER, "quoted", reply_parameters=ReplyParameters(404))
    finally:
        await app.shutdown()
    assert api.violations == []
    assert [m["text"] for m in api.live_messages(USER).values()] == ["quoted", "pick", "gone"]


async def test_unknown_method_answers_404(api: FakeBotApi) -> None:
    response = await _raw(api, "sendmessage", data={"chat_id": "1", "text": "hi"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert api.violations == ["sendmessage: unknown method 'sendmessage' (method names are case-sensitive)"]


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    response = await _raw(api, "getMe", token="999:wrong")
    assert response.status_code == 401 and response.json()["description"] == "Unauthorized"
    app = ApplicationBuilder().token("999:wrong").base_url(api.base_url).build()
    with pytest.raises(InvalidToken):
        await app.initialize()


async def test_json_body_is_accepted(api: FakeBotApi) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    response = await _raw(api, "sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup})
    assert response.json()["result"]["reply_markup"] == markup
    assert api.buttons(USER) == [("A", "a")]


# -- faults and error answers -------------------------------------------------------------------------


# PTB 22 itself warns (while building RetryAfter) that retry_after will become a timedelta.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_seen_as_retry_after(api: FakeBotApi, bot_app: Application) -> None:
    api.inject_fault("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot_app.bot.send_message(USER, "first")
    assert caught.value.retry_after in (7, dtm.timedelta(seconds=7))
    await bot_app.bot.send_message(USER, "second")  # count=1: the next call goes through
    assert [c.status for c in api.calls_to("sendMessage")] == [429, 200]
    assert api.sent_texts(USER) == ["second"]


async def test_403_blocked_is_seen_as_forbidden(api: FakeBotApi, bot_app: Application) -> None:
    api.inject_fault(None, "403_blocked", count=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot_app.bot.send_message(USER, "are you there?")
    assert (await bot_app.bot.send_message(USER, "back")).text == "back"


async def test_timeout_fault_times_out_client_but_message_is_sent(api: FakeBotApi) -> None:
    app = _build_app(api, read_timeout=0.2)
    await app.initialize()
    try:
        api.inject_fault("sendMessage", "timeout", delay=0.5)
        with pytest.raises(TimedOut):
            await app.bot.send_message(USER, "slow")
        await api.wait_for("sendMessage", timeout=2)
        assert [m["text"] for m in api.live_messages(USER).values()] == ["slow"]  # Telegram did it anyway
    finally:
        await app.shutdown()


async def test_delete_unknown_message_is_400(api: FakeBotApi, bot_app: Application) -> None:
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot_app.bot.delete_message(USER, 999)
    sent = await bot_app.bot.send_message(USER, "address: secret")
    assert await bot_app.bot.delete_message(USER, sent.message_id)
    assert api.live_messages(USER) == {}
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot_app.bot.delete_message(USER, sent.message_id)
    assert api.violations == []


async def test_edit_that_changes_nothing_is_refused(api: FakeBotApi, bot_app: Application) -> None:
    sent = await bot_app.bot.send_message(USER, "same")
    with pytest.raises(BadRequest, match="not modified"):
        await bot_app.bot.edit_message_text("same", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="to edit not found"):
        await bot_app.bot.edit_message_text("other", chat_id=USER, message_id=555)


async def test_document_upload_is_recorded_and_downloadable(api: FakeBotApi, bot_app: Application) -> None:
    message = await bot_app.bot.send_document(USER, b"route sheet", filename="route.txt", caption="Route")
    [upload] = api.uploads
    assert (upload["method"], upload["field"], upload["filename"], upload["content"]) == (
        "sendDocument",
        "document",
        "route.txt",
        b"route sheet",
    )
    tg_file = await bot_app.bot.get_file(message.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"route sheet"
    await bot_app.bot.send_photo(USER, b"\x89PNG fake", caption="Receipt")
    assert [u["method"] for u in api.uploads] == ["sendDocument", "sendPhoto"]
    assert api.violations == []


# -- the long poll --------------------------------------------------------------------------------------


async def test_long_poll_times_out_with_empty_list(api: FakeBotApi) -> None:
    started = time.monotonic()
    response = await _raw(api, "getUpdates", data={"timeout": "0.5"})  # PTB sends 0.5 for a 0.5 s poll
    assert response.json() == {"ok": True, "result": []}
    assert 0.45 <= time.monotonic() - started < 1.5
    assert api.violations == []


async def test_long_poll_wakes_when_an_update_arrives(api: FakeBotApi) -> None:
    poll = asyncio.create_task(_raw(api, "getUpdates", data={"timeout": "5"}))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    queued = api.send_message(USER, "wake up")
    response = await poll
    assert response.json()["result"] == [queued]
    assert time.monotonic() - started < 0.5


async def test_offset_confirms_updates_and_limit_caps(api: FakeBotApi) -> None:
    ids = [api.send_message(USER, f"m{i}")["update_id"] for i in range(3)]

    async def poll(**data: str) -> list[int]:
        response = await _raw(api, "getUpdates", data={"timeout": "0", **data})
        return [u["update_id"] for u in response.json()["result"]]

    assert await poll() == ids
    assert await poll(limit="1") == ids[:1]
    assert await poll(offset=str(ids[1])) == ids[1:]  # confirms ids[0]
    assert await poll() == ids[1:]
    assert await poll(offset=str(ids[-1] + 1)) == []
    await api.wait_idle(timeout=1)


async def test_wait_for_timeout_explains(api: FakeBotApi, bot_app: Application) -> None:
    await bot_app.bot.send_message(USER, "only this")
    with pytest.raises(AssertionError, match=r"(?s)2 x sendMessage.*got 1.*only this"):
        await api.wait_for("sendMessage", count=2, timeout=0.1)


# -- control endpoints and the standalone process ------------------------------------------------------


async def test_control_endpoints(api: FakeBotApi, bot_app: Application) -> None:
    async with httpx.AsyncClient(base_url=f"{api.url}/_control") as client:
        queued = (await client.post("/updates", json={"message": {"user_id": USER, "text": "/start"}})).json()
        assert queued["result"]["message"]["text"] == "/start"
        await bot_app.bot.send_message(
            USER,
            "menu",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
        )
        pressed = (await client.post("/updates", json=[{"callback": {"user_id": USER, "data": "go"}}])).json()
        assert pressed["result"][0]["callback_query"]["message"]["text"] == "menu"
        await client.post("/fault", json={"method": "sendMessage", "kind": "500"})
        with pytest.raises(Exception, match="Internal Server Error"):
            await bot_app.bot.send_message(USER, "boom")
        calls = (await client.get("/calls", params={"since": 1})).json()
        assert [c["method"] for c in calls["result"]] == ["sendMessage", "sendMessage"]
        assert calls["next"] == api.mark()
        await _raw(api, "sendMessage", data={"chat_id": "1"})
        assert (await client.get("/violations")).json()["result"] == [
            "sendMessage: text: required field missing"
        ]
        state = (await client.get("/state", params={"chat_id": USER})).json()["result"]
        assert state["buttons"] == [["Go", "go"]]
        assert (await client.post("/reset")).json()["ok"]
    assert api.calls == [] and api.violations == [] and api.live_messages(USER) == {}


def test_runs_as_a_separate_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_bot_api", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("READY "), line + (process.stderr.read() if process.poll() is not None else "")
        port = int(line.split()[1])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            me = client.post("/bot123456:TEST-token-abcdefghijklmnopqrstuvwxyz/getMe").json()
            assert me["result"]["username"] == "parcel_test_bot"
            calls = client.get("/_control/calls").json()["result"]
            assert [c["method"] for c in calls] == ["getMe"]
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert process.returncode == 0


# -- the spec file -----------------------------------------------------------------------------------------


def test_missing_spec_file_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "api.json"
    monkeypatch.setenv(SPEC_ENV_VAR, str(missing))
    with pytest.raises(ApiSpecNotFoundError, match=r"PARCELBOT_API_SPEC.*nowhere"):
        ApiSpec.load()
    with pytest.raises(ApiSpecNotFoundError):
        FakeBotApi()


def test_spec_env_var_points_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tiny = {
        "version": "Bot API test",
        "methods": {"getMe": {"name": "getMe", "returns": ["User"]}},
        "types": {},
    }
    path = tmp_path / "api.json"
    path.write_text(json.dumps(tiny))
    monkeypatch.setenv(SPEC_ENV_VAR, str(path))
    spec = ApiSpec.load()
    assert spec.version == "Bot API test" and list(spec.methods) == ["getMe"]
    assert spec.validate("sendMessage", {}) == [
        "sendMessage: unknown method 'sendMessage' (method names are case-sensitive)"
    ]


def test_default_spec_is_read_from_shared_beside_the_project() -> None:
    if os.environ.get(SPEC_ENV_VAR):
        pytest.skip(f"{SPEC_ENV_VAR} overrides the default location")
    spec = ApiSpec.load()
    assert Path(spec.source) == PROJECT_ROOT.parent / "shared" / "telegram-bot-api" / "api.json"
    assert "sendMessage" in spec.methods and spec.version.startswith("Bot API")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(
        ["sendMessage", "editMessageText", "setMyCommands", "answerCallbackQuery", "nope"]
    ),
    params=st.dictionaries(
        st.sampled_from(["chat_id", "text", "reply_markup", "commands", "scope", "parse_mode", "x"]),
        _json_values | st.text(max_size=30),
        max_size=5,
    ),
)
def test_validator_never_crashes(method: str, params: dict[str, object]) -> None:
    """Whatever arrives, the validator answers with a list of problems instead of raising."""
    spec = ApiSpec.load()
    problems = spec.validate(method, spec.decode_params(method, params))
    assert all(isinstance(p, str) and p.startswith(f"{method}: ") for p in problems)
