"""Webhook mode: Telegram POSTs each update to us; only requests carrying the secret get in.

We do not use PTB's `Updater.start_webhook`. Its receiver (telegram/ext/_utils/webhookhandler.py in
PTB 22.8) does answer 403 to a wrong or missing `X-Telegram-Bot-Api-Secret-Token`, but it
- compares the secret with `!=`, whose running time depends on how many leading characters match;
- logs a wrong secret verbatim (DEBUG) and, when an update cannot be parsed, the whole update with
  names and message text at CRITICAL, which passes the WARNING floor our logging keeps for `telegram`;
- buffers request bodies up to tornado's default of 100 MB before looking at the secret.
This receiver does the same job without those: `hmac.compare_digest`, 403, a 1 MiB body cap, and no
header, body or address ever logged. It knows nothing about Telegram's types: what to do with an
accepted update is the `accept` callback (handlers/webhook.py puts it on the Application's queue).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.config import SECRET_TOKEN_SHAPE, Config

log = logging.getLogger("parcelbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
# Telegram's updates are a few KiB; anything near this is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024

Accept = Callable[[dict[str, Any]], Awaitable[None]]


def new_secret() -> str:
    """A fresh secret for setWebhook: 32 random bytes as 43 URL-safe characters (Telegram's alphabet)."""
    return secrets.token_urlsafe(32)


def webhook_secret(config: Config) -> str:
    """The configured secret if there is one (a proxy may need to know it), else a new one per start."""
    return config.webhook_secret.value if config.webhook_secret else new_secret()


class _Refusals:
    """Counts refused requests; logs the 1st, 10th, 100th... so a scan cannot fill the disk with lines."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, reason: str) -> None:
        self.count += 1
        if str(self.count).rstrip("0") == "1":
            log.warning("webhook: %d requests refused so far (latest: %s)", self.count, reason)


class _UpdateHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, secret: bytes, accept: Accept, refusals: _Refusals) -> None:
        self.secret = secret
        self.accept = accept
        self.refusals = refusals

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        # Constant time: how long the comparison takes must not tell a guesser how much of it was right.
        if not hmac.compare_digest(given, self.secret):
            self.refusals.add("wrong or missing secret")
            raise tornado.web.HTTPError(403)
        try:
            update = json.loads(self.request.body)
        except ValueError:
            update = None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            self.refusals.add("not an update")
            raise tornado.web.HTTPError(400)
        await self.accept(update)
        self.set_status(200)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish()  # the status says it all; no page, no traceback

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def]
        # Tornado's default prints the request, headers included (the secret); keep only the type.
        if not isinstance(value, tornado.web.HTTPError):
            log.error("webhook: failed to take an update [%s]", typ.__name__ if typ else "?")


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """Access logs would record when members are active; the proxy's should be off too (docs/deploy.md)."""


class WebhookServer:
    """Listens on `listen:port` and serves `path`; `port=0` picks a free port (read back after start)."""

    def __init__(self, *, listen: str, port: int, path: str, secret: str, accept: Accept) -> None:
        if not SECRET_TOKEN_SHAPE.match(secret):
            raise ValueError("the webhook secret must be 32-256 characters of A-Z, a-z, 0-9, _ and -")
        self.listen = listen
        self.port = port
        self.refusals = _Refusals()
        self._app = tornado.web.Application(
            [(re.escape(path.rstrip("/")) + "/?", _UpdateHandler,
              {"secret": secret.encode("ascii"), "accept": accept, "refusals": self.refusals})],
            log_function=_no_access_log,
        )
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        sockets = tornado.netutil.bind_sockets(self.port, self.listen)
        # body_timeout and idle_connection_timeout keep slow or idle clients from holding connections.
        self._server = tornado.httpserver.HTTPServer(
            self._app, max_body_size=MAX_BODY_BYTES, body_timeout=30, idle_connection_timeout=120
        )
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        await self._server.close_all_connections()
        self._server = None


async def start_webhook(bot: Any, config: Config, accept: Accept, allowed_updates: list[str]) -> WebhookServer:
    """Listen first, then tell Telegram where to post and which secret to send (so no update finds us deaf)."""
    url = config.require_webhook_url()
    secret = webhook_secret(config)
    server = WebhookServer(
        listen=config.webhook_listen, port=config.webhook_port, path=config.webhook_path, secret=secret, accept=accept
    )
    await server.start()
    try:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=allowed_updates)
    except BaseException:
        await server.stop()
        raise
    log.info("webhook: listening on %s:%d%s", config.webhook_listen, server.port, config.webhook_path)
    return server
