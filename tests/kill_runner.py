"""The bot as a separate process for the kill -9 test: production assembly, a clock read from a file.

Usage: python -m tests.kill_runner DATA_DIR CLOCK_FILE (with PARCELBOT_* in the environment). The test
writes the current fake time into CLOCK_FILE; due work is polled every 0.2 s so a moved clock takes
effect at once. The process runs until it is killed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from bot.app import build_application, make_runtime
from bot.config import load_config
from bot.logs import configure_logging
from storage.store import Store


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


async def main(clock_file: Path) -> None:
    config = load_config(None)
    configure_logging("WARNING")
    clock = FileClock(clock_file)
    store = await Store.unlock(config.database_path, config.passphrase.value, clock=clock)
    application = build_application(make_runtime(config, store, clock), rate_limiter=False)
    await application.initialize()
    await application.post_init(application)
    await application.start()
    await application.updater.start_polling(timeout=1, poll_interval=0.0)
    print("READY", flush=True)
    from schedules import jobs

    while True:
        await asyncio.sleep(0.2)
        await jobs.run_due(application)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
