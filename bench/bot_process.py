"""`parcelbot run` exactly as in production, except that Telegram's outgoing rate limiter is unlimited
and each finished update is signalled to the driver.

The benchmark starts this as the bot's own process. bot/app.py builds `AIORateLimiter(max_retries=3)`,
whose default of ~30 messages a second would cap any throughput figure at ~33 updates/s. Here the same
limiter class is kept (same code path, same retry on 429) with its overall and group rates set to 0,
which AIORateLimiter reads as "no limit". The Application class is bench/done_signal.py's, which sends
one datagram per finished update (the echo baseline does the same). Everything else (config, logging,
store, polling, the update processor) is `parcelbot run`'s own.

    PARCELBOT_DATA_DIR=... PARCELBOT_TOKEN=... PARCELBOT_API_BASE_URL=... python bench/bot_process.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from telegram.ext import AIORateLimiter  # noqa: E402

import bot.app  # noqa: E402
from bench.done_signal import SignallingApplication  # noqa: E402
from bot.cli import main  # noqa: E402


class UnlimitedRateLimiter(AIORateLimiter):
    """AIORateLimiter with no overall and no group rate; keeps max_retries as bot/app.py sets it."""

    def __init__(self, max_retries: int = 0, **_ignored: object) -> None:
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)


def build_signalling(runtime, **options):
    return production_build(runtime, application_class=SignallingApplication, **options)


if __name__ == "__main__":
    bot.app.AIORateLimiter = UnlimitedRateLimiter  # type: ignore[misc]
    production_build = bot.app.build_application
    bot.app.build_application = build_signalling  # type: ignore[assignment]
    sys.exit(main(["run", *sys.argv[1:]]))
