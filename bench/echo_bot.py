"""The baseline: a bare python-telegram-bot echo bot, polling the same fake Bot API server.

One MessageHandler that sends the text back to the chat; no rate limiter, no persistence, sequential
updates (PTB's default, also the fastest on loopback). `python bench/echo_bot.py BASE_URL TOKEN`
"""

from __future__ import annotations

import logging
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_chat.send_message(update.message.text)


def main(base_url: str, token: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    head, _, _ = base_url.rstrip("/").rpartition("/")
    application = Application.builder().token(token).base_url(base_url).base_file_url(f"{head}/file/bot").build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=["message", "callback_query"], poll_interval=0.0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
