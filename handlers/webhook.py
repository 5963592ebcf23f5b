"""Webhook updates into the Application: the one Telegram-typed step behind bot/webhook.py's receiver."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.webhook import Accept

log = logging.getLogger("parcelbot.webhook")


def update_sink(application: Application) -> Accept:
    """Parse an authenticated update and queue it, exactly as polling would; the Application processes it."""

    async def accept(data: dict[str, Any]) -> None:
        try:
            update = Update.de_json(data, application.bot)
        except Exception as error:  # noqa: BLE001 - a malformed update is dropped, never logged with its content
            log.warning("webhook: dropped an update that could not be read [%s]", type(error).__name__)
            return
        application.bot.insert_callback_data(update)  # a no-op unless arbitrary callback data is enabled
        await application.update_queue.put(update)

    return accept
