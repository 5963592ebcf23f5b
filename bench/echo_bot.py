"""The baseline: a bare python-telegram-bot echo bot, polling the same fake Bot API server.

One MessageHandler that sends the text back to the chat; no rate limiter, no persistence, PTB's
default transport (httpx) and sequential updates (PTB's defaults). Like the bot under test it runs as
bench/done_signal.py's SignallingApplication, so the driver is told when each update is finished.
`python bench/echo_bot.py BASE_URL TOKEN [--lean]`; with --lean it uses parcelbot's own transport and
update processor (handlers/transport.py, handlers/ordering.py): the floor under parcelbot's own figure.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench.done_signal import SignallingApplication


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_chat.send_message(update.message.text)


def main(base_url: str, token: str, lean: bool = False) -> None:
    logging.basicConfig(level=logging.WARNING)
    head, _, _ = base_url.rstrip("/").rpartition("/")
    builder = (
        Application.builder()
        .application_class(SignallingApplication)
        .token(token)
        .base_url(base_url)
        .base_file_url(f"{head}/file/bot")
    )
    if lean:  # parcelbot's own transport and update processor, nothing else of parcelbot's
        from handlers.ordering import PerPersonOrder
        from handlers.transport import AiohttpRequest

        builder = (builder.request(AiohttpRequest(pool_size=64)).get_updates_request(AiohttpRequest(pool_size=1))
                   .concurrent_updates(PerPersonOrder()))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=["message", "callback_query"], poll_interval=0.0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], lean="--lean" in sys.argv[3:])
