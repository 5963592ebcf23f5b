"""The error handler: an exception type and an incident id in the log, a kind line to the person."""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut

from handlers.context import BotContext

log = logging.getLogger("parcelbot.errors")


async def on_error(update: object, context: BotContext) -> None:
    """Never logs the update, the user or the message text: only what broke and a reference."""
    error = context.error
    incident = secrets.token_hex(4)
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)):
        log.warning("telegram unavailable: %s incident=%s", type(error).__name__, incident)
    else:
        log.error("unhandled error: %s incident=%s", type(error).__name__, incident)
    if isinstance(update, Update) and update.effective_chat is not None and update.effective_chat.type == "private":
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await update.effective_chat.send_message(
                context.t("Something went wrong on our side. Please try again in a few minutes.")
            )
        except Exception as reply_error:  # noqa: BLE001 - the error path must never raise
            log.warning("could not report incident=%s: %s", incident, type(reply_error).__name__)
