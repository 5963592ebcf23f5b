"""What each step of the benchmark's journeys costs, one person at a time: `python -m bench.steps`.

The load benchmark (bench/run.py) measures the whole bot under load, which on a shared 2-core machine
moves by ±20% from run to run. This program is its magnifying glass: the same dataset and the same
journeys, played in-process by one person at a time through the real Application and the fake Bot
API server, counting for every kind of step the database calls (each one an aiosqlite thread hop),
the Bot API calls and the rows of sealed fields opened and blind indexes computed. Counts do not
depend on the machine, so a change that adds a query to /runs shows here as a number, not as noise.

    python -m bench.steps [--journeys 200] [--profile FILE] [--trace "press Claim"] [--plans]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

import aiosqlite  # noqa: E402

from bench.dataset import FULL, PASSPHRASE, build  # noqa: E402
from bench.driver import Step  # noqa: E402
from bench.run import TOKEN, parcelbot_journeys  # noqa: E402
from bot.config import Config, Secret  # noqa: E402
from storage import crypto  # noqa: E402
from storage.db import DEFAULT_ENGINE, ENGINES, InlineConnection  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.harness import Harness  # noqa: E402

# "db": every aiosqlite call, i.e. every thread hop (BEGIN and COMMIT included).
DB_CALLS = ("execute", "execute_fetchall", "executemany")
COUNTED = [("db", aiosqlite.Connection, DB_CALLS), ("db", InlineConnection, DB_CALLS),
           ("opened", crypto.Keyring, ("_open_tagged",)), ("indexed", crypto.Keyring, ("blind_index",))]


class Counts:
    """Wraps the counted methods; `current` names the step kind being played."""

    def __init__(self) -> None:
        self.current = "start"
        self.by_step: dict[str, Counter] = defaultdict(Counter)
        self.steps: Counter = Counter()
        self.statements: set[str] = set()  # every SQL statement the steps ran (for --plans)
        self.trace = ""  # print the SQL of the first step of this kind
        self.traced = 0

    def install(self) -> None:
        for what, cls, names in COUNTED:
            for name in names:
                original = getattr(cls, name)
                setattr(cls, name, self._wrap(what, original))

    def _wrap(self, what: str, original):
        counts = self

        def note(args) -> None:
            counts.by_step[counts.current][what] += 1
            if what == "db" and len(args) > 1:
                sql = " ".join(str(args[1]).split())
                counts.statements.add(sql)
                if counts.trace == counts.current and counts.traced < 1:
                    print(f"  {counts.current}: {sql[:150]}")

        # aiosqlite's methods return awaitables without being coroutine functions; wrap them plainly
        # (an inline connection's coroutine functions work the same way).
        def counted(*args, **kwargs):
            note(args)
            return original(*args, **kwargs)

        return counted


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one thread of this process (the scheduler's nanosecond count, from /proc)."""
    return int(Path(f"/proc/self/task/{native_id}/schedstat").read_text().split()[0]) / 1e9


def step_kind(step: Step) -> str:
    return step.text or f"press {step.press.strip('^').strip()}"


async def play(journeys: int, profile: Path | None, trace: str = "", plans: bool = False,
               engine: str = DEFAULT_ENGINE) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="parcelbot-steps-"))
    data_dir = workdir / "data"
    data_dir.mkdir(mode=0o700)
    print(f"building the dataset in {workdir} ...", flush=True)
    data = await build(data_dir / "parcelbot.db", FULL)
    config = Config(data_dir=data_dir, token=Secret(TOKEN), passphrase=Secret(PASSPHRASE),
                    commands_per_minute=1000, list_views_per_hour=10000, claims_per_day=1000)
    api = FakeBotApi(token=TOKEN, max_calls=40_000, max_messages_per_chat=50)
    await api.start()
    store = await Store.unlock(config.database_path, PASSPHRASE, engine=engine)
    harness = Harness(dataclasses.replace(config, api_base_url=api.base_url), store, store.clock, api, None)
    counts = Counts()
    try:
        await harness.start()
        await api.wait_idle(timeout=300)  # the announcements due at start
        counts.install()
        counts.trace = trace
        pick, _ = parcelbot_journeys(data)
        rng = random.Random(2026)  # noqa: S311 - reproducible load
        profiler = cProfile.Profile() if profile else None
        calls_by_step: dict[str, Counter] = defaultdict(Counter)
        cpu_by_step: Counter = Counter()
        db_cpu_by_step: Counter = Counter()
        # With the "thread" engine SQLite's work and its system calls (fsync) show on aiosqlite's threads;
        # inline, they are part of 'main ms'.
        db_threads = [t.native_id for t in threading.enumerate() if t is not threading.main_thread()
                      and "_connection_worker_thread" in repr(getattr(t, "_target", ""))]

        def db_cpu() -> float:
            return sum(thread_cpu(thread) for thread in db_threads)

        for _ in range(journeys):
            user_id, language, steps = pick(rng)
            person = harness.person(language)
            person.user_id = user_id
            for step in steps:
                kind = step_kind(step)
                mark = api.mark()
                if step.press:
                    buttons = [(label, payload) for label, payload in api.buttons(user_id)
                               if __import__("re").search(step.press, label)]
                    if not buttons:
                        continue
                    action = harness.press(person, buttons[0][1])
                else:
                    action = harness.send(person, step.text)
                counts.current = kind
                counts.steps[kind] += 1
                began = time.thread_time()
                db_began = db_cpu()
                if profiler:
                    profiler.enable()
                calls = await action
                if profiler:
                    profiler.disable()
                cpu_by_step[kind] += time.thread_time() - began
                db_cpu_by_step[kind] += db_cpu() - db_began
                if counts.current == counts.trace:
                    counts.traced += 1
                counts.current = "between"
                for call in calls:
                    calls_by_step[kind][call.method] += 1
                del mark
        print(f"\n{journeys} journeys, one person at a time. 'main ms': CPU of the event loop's thread, which"
              f" also runs the fake server;\n'db ms': CPU of aiosqlite's threads (SQLite, fsync); engine {engine}"
              f"{' (SQLite runs on the main thread)' if engine == 'inline' else ''}.\n")
        print(f"| {'step':<18} | {'n':>5} | {'db hops':>8} | {'opened':>6} | {'indexed':>7} | "
              f"{'Bot API calls':<52} | {'main ms':>7} | {'db ms':>5} |")
        print(f"| {'-' * 18} | {'-' * 5} | {'-' * 8} | {'-' * 6} | {'-' * 7} | {'-' * 52} | {'-' * 7} | {'-' * 5} |")
        for kind, n in counts.steps.most_common():
            c = counts.by_step[kind]
            api_calls = ", ".join(f"{m} {v / n:.2f}" for m, v in calls_by_step[kind].most_common()
                                  if m != "getUpdates")
            print(f"| {kind:<18} | {n:>5} | {c['db'] / n:>8.1f} | {c['opened'] / n:>6.1f} | "
                  f"{c['indexed'] / n:>7.1f} | {api_calls:<52} | {cpu_by_step[kind] / n * 1000:>7.2f} | "
                  f"{db_cpu_by_step[kind] / n * 1000:>5.2f} |")
        if profiler:
            profiler.dump_stats(profile)
            print(f"\nprofile written to {profile}")
        if plans:
            print_scans(config.database_path, counts.statements)
    finally:
        await harness.stop()
        await store.close()
        await api.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def print_scans(database: Path, statements: set[str]) -> None:
    """Each statement the steps ran whose query plan reads a whole table (SCAN) instead of an index."""
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    print("\nstatements that scan a whole table:")
    try:
        for sql in sorted(statements):
            if sql.split()[0].upper() not in ("SELECT", "UPDATE", "DELETE", "INSERT"):
                continue
            plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?")).fetchall()
            scans = [row[3] for row in plan if row[3].startswith("SCAN") and "json_each" not in row[3]
                     and "CONSTANT ROW" not in row[3]]
            if scans:
                print(f"  {'; '.join(scans)}  <-  {sql[:140]}")
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=200)
    parser.add_argument("--profile", type=Path, help="cProfile the steps (not the set-up) into this file")
    parser.add_argument("--trace", default="", metavar="STEP",
                        help='print the SQL of the first step of this kind, e.g. "press Claim"')
    parser.add_argument("--plans", action="store_true", help="list the statements that scan a whole table")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help="how SQLite is called")
    args = parser.parse_args(argv)
    asyncio.run(play(args.journeys, args.profile, args.trace, args.plans, args.engine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
