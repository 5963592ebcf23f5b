"""How the bot talks HTTP to the Bot API: python-telegram-bot's BaseRequest on aiohttp.

PTB's default transport (httpx over httpcore and anyio) costs about twice the CPU per Bot API call of
aiohttp on this machine kind (bench/README.md: the echo bot on either transport): ~1 ms against ~0.5 ms per sendMessage,
parsing included. Every update makes two or three calls (getUpdates, the reply, often
answerCallbackQuery), so the transport is most of what a busy bot spends. PTB keeps everything else:
it builds the request, checks the status and raises its own errors.

Timeouts: PTB's read/connect/pool timeouts map to aiohttp's sock_read/sock_connect/connect; aiohttp
has no write timeout of its own, so a stalled upload is bounded by `upload_timeout` in total.
Errors carry the aiohttp class name only: aiohttp's messages can quote the URL, and the URL holds the
token.

Three savings PTB leaves to the transport (measured in bench/README.md, "Where the bot's CPU goes"):
- requests without files go as one JSON body, not form fields holding JSON that is then
  percent-encoded (Cyrillic text triples in size that way): ~80 µs less per sendMessage;
- the keyboards Telegram echoes back (on every sent message and on the message a pressed button sits
  on) are dropped before PTB parses the answer: the bot never reads a keyboard back, and PTB would
  build a frozen object per button (~90 µs per ten-button message). So do not read
  `Message.reply_markup` in this bot: it is None on anything the transport parsed (in webhook mode
  PTB's server parses incoming updates itself and keeps it);
- a message the bot sent or edited comes back whole (its text, entities, the bot's own user, the
  member's Telegram name and username in `chat`), and the bot reads only where it went: PTB parses
  just message_id, date and chat id and type. ~50 µs less per sent message, and the member's name and
  what the bot told them (a prisoner's name, an address) are not copied into objects that linger in
  memory. So the Message a send_message or edit returns has no text in this bot.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp
import certifi
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """One aiohttp ClientSession with a connection pool of `pool_size` keep-alive connections."""

    __slots__ = ("_connect_timeout", "_on_result", "_pool_size", "_pool_timeout", "_read_timeout", "_session",
                 "_upload_timeout")

    def __init__(
        self,
        pool_size: int = 64,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        upload_timeout: float | None = 60.0,
        on_result: Callable[[Any], None] | None = None,
    ) -> None:
        # `on_result` sees every answer's result (handlers/recent.py notes the message ids in it).
        self._on_result = on_result
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._upload_timeout = upload_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        """PTB's parse, minus echoed keyboards, and without logging the payload on a bad answer
        (PTB's own logs it whole, and a payload can hold a member's message)."""
        try:
            answer = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response") from None
        if isinstance(answer, dict):
            result = answer.get("result")
            _drop_keyboards(result)
            if self._on_result is not None:
                self._on_result(result)
            if isinstance(result, dict) and "message_id" in result:
                answer["result"] = _where_it_went(result)
        return answer

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Created here, inside the running loop; no cookies (the Bot API sets none worth keeping).
            # certifi's CA bundle, as PTB's httpx transport uses: the same trust on any base image.
            tls = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=tls),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        write_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        connect_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
        pool_timeout: float | None = BaseRequest.DEFAULT_NONE,  # type: ignore[assignment]
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        uploading = request_data is not None and request_data.contains_files
        timeout = aiohttp.ClientTimeout(
            total=self._upload_timeout if uploading else None,
            connect=self._pool_timeout if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout,
            sock_connect=self._connect_timeout if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout,
            sock_read=self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout,
        )
        try:
            body, headers = _body(request_data)
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts are TimeoutError subclasses
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}") from None


_JSON = {"Content-Type": "application/json"}
# Where the Bot API echoes a keyboard back: a sent or edited message, or in an update, the message a
# pressed button sits on (and, for completeness, the other messages an update can carry).
_UPDATE_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")


def _drop_keyboards(result: Any) -> None:
    if isinstance(result, dict):
        result.pop("reply_markup", None)
    elif isinstance(result, list):  # getUpdates
        for update in result:
            if not isinstance(update, dict):
                continue
            for key in _UPDATE_MESSAGES:
                message = update.get(key)
                if isinstance(message, dict):
                    message.pop("reply_markup", None)
            query = update.get("callback_query")
            if isinstance(query, dict) and isinstance(query.get("message"), dict):
                query["message"].pop("reply_markup", None)


def _where_it_went(message: dict[str, Any]) -> dict[str, Any]:
    """A sent or edited message, cut to the fields PTB needs to build it and the bot reads."""
    lean = {key: message[key] for key in ("message_id", "date", "message_thread_id") if key in message}
    chat = message.get("chat")
    if isinstance(chat, dict):
        lean["chat"] = {key: chat[key] for key in ("id", "type") if key in chat}
    return lean


def _body(request_data: RequestData | None) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None]:
    """One JSON body (the Bot API takes application/json for every method without files);
    multipart, as PTB's own transport sends it, only with files."""
    if request_data is None or not request_data.parameters:
        return None, None
    if not request_data.contains_files:
        return json.dumps(request_data.parameters, ensure_ascii=False).encode("utf-8"), _JSON
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in (request_data.multipart_data or {}).items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None
