"""`parcelbot run` exactly as in production, except that Telegram's outgoing rate limiter is unlimited
and each finished update is signalled to the driver; it also notes every SQLite call that held the
event loop's thread for 2 ms or more.

The benchmark starts this as the bot's own process. bot/app.py builds `AIORateLimiter(max_retries=3)`,
whose default of ~30 messages a second would cap any throughput figure at ~33 updates/s. Here the same
limiter class is kept (same code path, same retry on 429) with its overall and group rates set to 0,
which AIORateLimiter reads as "no limit". The Application class is bench/done_signal.py's, which sends
one datagram per finished update (the echo baseline does the same). Everything else (config, logging,
store, polling, the update processor) is `parcelbot run`'s own.

With the inline engine a SQLite call runs on the loop's thread, so a slow one stalls every update in
the process: that is how COMMITs that ran SQLite's automatic checkpoint (40-300 ms) were found. When
`SLOW_SQL_ENV` names a file, each call is timed (two clock reads) and those of 2 ms or more are written
there at exit with their CLOCK_MONOTONIC time, which the driver's process shares, so bench/run.py
can count them per phase.

    PARCELBOT_DATA_DIR=... PARCELBOT_TOKEN=... PARCELBOT_API_BASE_URL=... python bench/bot_process.py
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from telegram.ext import AIORateLimiter  # noqa: E402

import bot.app  # noqa: E402
from bench.done_signal import SignallingApplication  # noqa: E402
from bot.cli import main  # noqa: E402
from storage.db import InlineConnection  # noqa: E402

SLOW_SQL_ENV = "PARCELBOT_BENCH_SLOW_SQL"
SLOW_SQL_S = 0.002


class UnlimitedRateLimiter(AIORateLimiter):
    """AIORateLimiter with no overall and no group rate; keeps max_retries as bot/app.py sets it."""

    def __init__(self, max_retries: int = 0, **_ignored: object) -> None:
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)


def build_signalling(runtime, **options):
    return production_build(runtime, application_class=SignallingApplication, **options)


def time_sqlite_calls(path: str) -> None:
    """Note each inline SQLite call of SLOW_SQL_S or more: (monotonic time it ended, ms, first word)."""
    slow: list[tuple[float, float, str]] = []

    def timed(method):
        async def call(self, sql, *args):
            started = time.monotonic()
            try:
                return await method(self, sql, *args)
            finally:
                ended = time.monotonic()
                if ended - started >= SLOW_SQL_S:
                    slow.append((ended, (ended - started) * 1000, sql.split(None, 1)[0]))
        return call

    for name in ("execute", "execute_fetchall", "executemany"):
        setattr(InlineConnection, name, timed(getattr(InlineConnection, name)))
    atexit.register(lambda: Path(path).write_text(json.dumps(slow), encoding="utf-8"))


if __name__ == "__main__":
    if os.environ.get(SLOW_SQL_ENV):
        time_sqlite_calls(os.environ[SLOW_SQL_ENV])
    bot.app.AIORateLimiter = UnlimitedRateLimiter  # type: ignore[misc]
    production_build = bot.app.build_application
    bot.app.build_application = build_signalling  # type: ignore[assignment]
    sys.exit(main(["run", *sys.argv[1:]]))
