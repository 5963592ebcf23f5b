"""The error handler: an exception type and an incident id in the log, a kind line to the person."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut

from handlers.context import BotContext

log = logging.getLogger("parcelbot.errors")
STORAGE_ALERT_EVERY = 600.0  # seconds between "storage unavailable" alerts to coordinators
_last_storage_alert = [0.0]


def _storage_unavailable(error: BaseException | None) -> bool:
    """Disk full, read-only file system or database, locked beyond the busy timeout."""
    return isinstance(error, sqlite3.OperationalError) and any(
        phrase in str(error) for phrase in ("readonly", "read-only", "disk is full", "disk I/O", "locked")
    )


async def on_error(update: object, context: BotContext) -> None:
    """Never logs the update, the user or the message text: only what broke and a reference."""
    error = context.error
    incident = secrets.token_hex(4)
    storage_down = _storage_unavailable(error)
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)):
        log.warning("telegram unavailable: %s incident=%s", type(error).__name__, incident)
    elif storage_down:
        log.error("storage unavailable: %s incident=%s", type(error).__name__, incident)
        await _alert_storage(context)
    else:
        log.error("unhandled error: %s incident=%s", type(error).__name__, incident)
    if isinstance(update, Update) and update.effective_chat is not None and update.effective_chat.type == "private":
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except Exception:  # noqa: BLE001, S110 - already answered or expired; the message below matters
                pass
        try:
            message = ("The bot is temporarily unavailable. Please try again later." if storage_down
                       else "Something went wrong on our side. Please try again in a few minutes.")
            await update.effective_chat.send_message(context.t(message))
        except Exception as reply_error:  # noqa: BLE001 - the error path must never raise
            log.warning("could not report incident=%s: %s", incident, type(reply_error).__name__)


async def _alert_storage(context: BotContext) -> None:
    """Tell coordinators once per interval; reading their chat ids may work even when writing does not."""
    now = time.monotonic()
    if now - _last_storage_alert[0] < STORAGE_ALERT_EVERY:
        return
    _last_storage_alert[0] = now
    from handlers.notify import tell_coordinators

    try:
        await tell_coordinators(context, "Storage problem: the bot cannot save changes (disk full or read-only).")
    except Exception as alert_error:  # noqa: BLE001 - alerting is best effort while storage is down
        log.warning("storage alert failed: %s", type(alert_error).__name__)
