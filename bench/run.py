"""The benchmark: `python -m bench.run` (about four minutes) or `python -m bench.run --quick` (under a minute).

Two processes on loopback: the bot (`parcelbot run` via bench/bot_process.py: production
configuration, outgoing rate limiter unlimited) and this one, which runs the fake Bot API server
(tests.fake_bot_api.FakeBotApi) and the load driver in one event loop. The same driver then plays a
bare python-telegram-bot echo bot (bench/echo_bot.py) on the same server. Work at scale is timed in
this process afterwards. Prints one table and writes it to bench/results/latest.json
(bench/results/quick.json for --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

from bench.bot_process import SLOW_SQL_ENV  # noqa: E402
from bench.dataset import FULL, PASSPHRASE, Dataset, build  # noqa: E402
from bench.done_signal import ENV as DONE_ENV  # noqa: E402
from bench.done_signal import DoneListener  # noqa: E402
from bench.driver import Driver, PhaseResult, Step, percentile  # noqa: E402
from bench.scale import work_at_scale  # noqa: E402
from storage.db import DEFAULT_ENGINE, ENGINES  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - the fake server's default test token
TICKS = os.sysconf("SC_CLK_TCK")
PHASES = ("closed", "open", "open_telegram_rate")
SLOW_SQL_FILE = "slow_sql.json"  # beside the bot's log: SQLite calls that held its loop 2 ms or more
TELEGRAM_RATE = 30.0  # updates/s: about what Telegram lets one bot send in all (its broadcast limit)


@dataclass(frozen=True)
class Durations:
    warmup: float
    closed: float
    open: float


FULL_RUN = Durations(warmup=3.0, closed=20.0, open=30.0)
QUICK_RUN = Durations(warmup=1.0, closed=4.0, open=5.0)


# -- processes ---------------------------------------------------------------------------------------


def start_bot(data_dir: Path, port: int, done: str, config: Path, log: Path,
              profile: Path | None = None, *, pinned: bool = False) -> subprocess.Popen:
    env = {
        **os.environ,
        DONE_ENV: done,
        "PARCELBOT_CONFIG": str(config),
        "PARCELBOT_DATA_DIR": str(data_dir),
        "PARCELBOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "PARCELBOT_TOKEN": TOKEN,
        "PARCELBOT_PASSPHRASE": PASSPHRASE,
        SLOW_SQL_ENV: str(log.with_name(SLOW_SQL_FILE)),
    }
    with log.open("ab") as handle:
        return pin(pinned, subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else []),
             str(ROOT / "bench" / "bot_process.py")], cwd=ROOT, env=env,
            stdout=handle, stderr=handle,
        ))


def start_echo(port: int, done: str, *, lean: bool = False, pinned: bool = False) -> subprocess.Popen:
    return pin(pinned, subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "bench" / "echo_bot.py"), f"http://127.0.0.1:{port}/bot", TOKEN,
         *(["--lean"] if lean else [])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, DONE_ENV: done},
    ))


def pin(pinned: bool, process: subprocess.Popen) -> subprocess.Popen:
    """--pin: each bot on core 0 (the driver and fake server are on core 1)."""
    if pinned:
        os.sched_setaffinity(process.pid, {0})  # before it starts its own threads: they inherit it
    return process


async def stop(process: subprocess.Popen) -> None:
    """SIGTERM and wait without blocking the loop: the fake server must keep answering the bot's shutdown."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def _stat_cpu_seconds(stat: Path) -> float:
    """utime + stime from a /proc .../stat file (the fields after the command name in parentheses)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(pid: int) -> float:
    return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def disk_reads(pid: int) -> tuple[int, int]:
    """(page faults that read from disk, bytes read from disk): code or database pages the kernel had
    dropped from memory. Each stalls the process on the disk, whatever the code does; some virtual
    machines reclaim idle file pages within seconds (DAMON's pageout is on on the one these figures
    were taken on). Reads served from the page cache count in neither."""
    faults = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[9])
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return faults, int(io["read_bytes"])


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each of the process's threads (the thread whose id is the pid runs the event loop)."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            seconds[int(task.name)] = _stat_cpu_seconds(task / "stat")
        except OSError:
            continue  # a thread that ended meanwhile
    return seconds


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores, from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- journeys ----------------------------------------------------------------------------------------


def bot_commands() -> set[str]:
    from bot.app import FEATURE_MODULES

    return {command for module in FEATURE_MODULES for command in module.COMMANDS}


def parcelbot_journeys(data: Dataset):
    """Mixed journeys: mostly volunteers (list, claim, details, confirm, give back), volunteers reporting a
    parcel of a run in progress, some family status checks, a few coordinator board views. A press is
    skipped when the bot shows no such button (a full run, a parcel already reported)."""
    commands = bot_commands()
    board = "/board" if "board" in commands else "/needs"
    volunteer = [
        Step(text="/runs"), Step(press=r"^Claim "), Step(text="/myruns"), Step(press=r"^Details"),
        Step(press=r"^Confirm"), Step(text="/myruns"), Step(press=r"^Give back"),
    ]
    # On a run in progress (bench/dataset.py): report one parcel as delivered.
    reporter = [Step(text="/myruns"), Step(press=r"^Report"), Step(press=r"-\d{4}$"), Step(press=r"^Delivered"),
                Step(text="/myruns")]
    family = [Step(text="/status"), Step(text="/help")]
    coordinator = [Step(text=board), Step(text="/help")]

    def pick(rng: random.Random) -> tuple[int, str, list[Step]]:
        roll = rng.random()
        if roll < 0.65 or not data.reporters:
            return rng.choice(data.volunteers), "en", volunteer
        if roll < 0.80:
            return rng.choice(data.reporters), "en", reporter
        if roll < 0.95:
            return rng.choice(data.families), "ru", family
        return rng.choice(data.coordinators), "en", coordinator

    return pick, board


def echo_journeys(rng: random.Random) -> tuple[int, str, list[Step]]:
    return 40_000_000 + rng.randrange(5_000), "en", [Step(text=f"hello {rng.randrange(1000)}") for _ in range(5)]


# -- phases ------------------------------------------------------------------------------------------


async def cold_start(api: FakeBotApi, data: Dataset, start) -> tuple[subprocess.Popen, float, int]:
    """Spawn the bot with a /help already waiting; time from spawn to the reply's arrival."""
    since = api.mark()
    chat = data.coordinators[0]
    api.send_message(chat, "/help", language_code="en")
    spawned = time.monotonic()
    process = start()
    try:
        answer = await api.wait_for("sendMessage", chat_id=chat, since=since, timeout=90)
        # Work that fell due while the bot was down (e.g. announcing the published week to matching
        # volunteers) runs at start; measure only once it is done.
        await api.wait_idle(timeout=300)
    except AssertionError:
        await stop(process)
        raise
    sent = sum(1 for call in api.calls[max(since - api._calls_base, 0):] if call.method == "sendMessage")
    return process, answer[0].at - spawned, sent


def start_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy (not a dependency: `pip install py-spy`) samples the bot's GIL holder during the closed loop."""
    return subprocess.Popen(  # noqa: S603 - a profiler the user asked for
        ["py-spy", "record", "--pid", str(pid), "--gil", "--rate", "200", "--format", "raw",  # noqa: S607
         "--duration", str(int(seconds)), "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def measure(driver: Driver, pid: int, durations: Durations, in_flight: int, rate: float,
                  spy: Path | None = None) -> dict:
    await driver.closed_loop(in_flight, durations.warmup)
    spying = start_spy(pid, durations.closed, spy) if spy else None
    before, driver_before, threads_before = cpu_seconds(pid), cpu_seconds(os.getpid()), thread_cpu_seconds(pid)
    machine_before = machine_busy_seconds()
    windows: dict[str, tuple[float, float]] = {}
    reads: dict[str, tuple[int, int]] = {}

    async def observed(phase: str, run: Awaitable[PhaseResult]) -> PhaseResult:
        """One phase, noting its monotonic window (for count_slow_sql) and the bot's disk reads."""
        start, reads_before = time.monotonic(), disk_reads(pid)
        result = await run
        windows[phase] = (start, time.monotonic())
        reads_after = disk_reads(pid)
        reads[phase] = (reads_after[0] - reads_before[0], reads_after[1] - reads_before[1])
        return result

    closed = await observed("closed", driver.closed_loop(in_flight, durations.closed))
    machine_after = machine_busy_seconds()
    driver_cpu = cpu_seconds(os.getpid()) - driver_before
    threads = thread_cpu_seconds(pid)
    if spying is not None:
        await asyncio.to_thread(spying.wait)
    closed_cpu = cpu_seconds(pid) - before
    before = cpu_seconds(pid)
    opened = await observed("open", driver.open_loop(rate, durations.open))
    open_cpu = cpu_seconds(pid) - before
    # Telegram lets a bot send about 30 messages a second in all: the load a real deployment can see.
    before = cpu_seconds(pid)
    telegram_rate = await observed("open_telegram_rate", driver.open_loop(TELEGRAM_RATE, durations.open))
    telegram_cpu = cpu_seconds(pid) - before
    return {
        "windows": windows,
        "closed": {**summary(closed, closed_cpu),
                   "driver_cpu_us_per_update": driver_cpu / max(closed.completed, 1) * 1e6,
                   # Busy share of the phase: the event loop's thread, and the busiest other thread
                   # (an aiosqlite thread with database_engine = "thread"). Under 1.0 on the loop
                   # means the bot also waited.
                   "loop_thread_busy": (threads.get(pid, 0) - threads_before.get(pid, 0)) / closed.seconds,
                   # All cores together: near 1.0 means the machine, not the bot's design, is the limit.
                   "machine_busy": (machine_after[0] - machine_before[0])
                   / max(machine_after[1] - machine_before[1], 1e-9),
                   "busiest_other_thread_busy": max(
                       (cpu - threads_before.get(tid, 0) for tid, cpu in threads.items() if tid != pid),
                       default=0.0) / closed.seconds},
        "open": summary(opened, open_cpu), "open_telegram_rate": summary(telegram_rate, telegram_cpu),
        "disk_reads": reads,  # per phase: (page faults that read the disk, bytes read from disk)
        "peak_rss_mb": peak_rss_mb(pid),
    }


def count_slow_sql(bot: dict, path: Path) -> None:
    """Per phase: SQLite calls that held the bot's event loop 2 ms or more, and the longest of them."""
    slow = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    for phase, (start, end) in bot.pop("windows").items():
        during = [ms for ended, ms, _ in slow if start <= ended <= end]
        bot[phase]["sqlite_over_2ms"] = len(during)
        bot[phase]["sqlite_longest_ms"] = max(during, default=0.0)


def summary(result: PhaseResult, cpu: float) -> dict:
    return {
        "updates": result.completed, "seconds": result.seconds,
        "updates_per_s": result.completed / result.seconds if result.seconds else 0.0,
        "p50_ms": result.percentile(50) * 1000, "p95_ms": result.percentile(95) * 1000,
        "p99_ms": result.percentile(99) * 1000, "cpu_us_per_update": cpu / max(result.completed, 1) * 1e6,
        "skipped_presses": result.skipped_presses, "skipped_by_label": result.skipped_by_label,
        "errors": result.errors, "slow_downs": result.slow_downs,
        "calls_per_update": {method: round(count / max(result.completed, 1), 2)
                             for method, count in sorted(result.calls.items(), key=lambda item: -item[1])},
        "unserved_offers": result.unserved, "still_waiting_at_end": result.still_waiting,
        "p50_p99_ms_by_step": {kind: [round(percentile(values, 50) * 1000, 1), round(percentile(values, 99) * 1000, 1),
                                      len(values)]
                               for kind, values in sorted(result.latencies_by_kind.items())},
        "silent_updates": result.silent,
        **{f"{name}_p50_p99_ms": [round(percentile(values, 50) * 1000, 1), round(percentile(values, 99) * 1000, 1)]
           for name, values in (("to_delivery", result.to_delivery), ("to_start", result.to_start),
                                ("processing", result.processing))},
    }


# -- report ------------------------------------------------------------------------------------------


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_quiet(limit: float, most: float) -> float:
    """Wait (at most `most` seconds) until the 1-minute load average is under `limit`; return it.

    Runs before the event loop starts, so a plain sleep is right here."""
    deadline = time.monotonic() + most
    while load_average() >= limit and time.monotonic() < deadline:
        time.sleep(5)
    return load_average()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return (f"{os.cpu_count()} × {model}, {memory} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    bot, echo, work = results["parcelbot"], results["echo"], results["work"]
    lean = results["echo_lean"]["closed"]
    ratio = bot["closed"]["updates_per_s"] / echo["closed"]["updates_per_s"] if echo["closed"]["updates_per_s"] else 0
    results["ratio"] = ratio

    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    def ms(value: float) -> str:
        return f"{value:.1f} ms"

    return [
        ("mixed journeys, closed loop", f"{bot['closed']['updates_per_s']:.0f} updates/s", "", ""),
        ("echo bot, closed loop", f"{echo['closed']['updates_per_s']:.0f} updates/s", "", ""),
        ("ratio parcelbot / echo", f"{ratio:.2f}", ">= 0.6", ok(ratio >= 0.6)),
        ("closed loop p50 / p95 / p99", " / ".join(ms(bot["closed"][k]) for k in ("p50_ms", "p95_ms", "p99_ms")),
         "", ""),
        ("echo closed loop p50 / p95 / p99", " / ".join(ms(echo["closed"][k]) for k in ("p50_ms", "p95_ms", "p99_ms")),
         "", ""),
        (f"at {results['rate']:.0f} updates/s offered: answered", f"{bot['open']['updates_per_s']:.0f} updates/s",
         "", ""),
        (f"at {results['rate']:.0f} updates/s offered: p50 / p95", f"{ms(bot['open']['p50_ms'])} / "
         f"{ms(bot['open']['p95_ms'])}", "", ""),
        (f"at {results['rate']:.0f} updates/s offered: p99", ms(bot["open"]["p99_ms"]), "< 10 ms",
         ok(bot["open"]["p99_ms"] < 10)),
        (f"echo at {results['rate']:.0f} updates/s: p50 / p99", f"{ms(echo['open']['p50_ms'])} / "
         f"{ms(echo['open']['p99_ms'])}", "", ""),
        (f"at {TELEGRAM_RATE:.0f} updates/s (Telegram's send limit): p50 / p99",
         f"{ms(bot['open_telegram_rate']['p50_ms'])} / {ms(bot['open_telegram_rate']['p99_ms'])}", "", ""),
        (f"echo at {TELEGRAM_RATE:.0f} updates/s: p50 / p99",
         f"{ms(echo['open_telegram_rate']['p50_ms'])} / {ms(echo['open_telegram_rate']['p99_ms'])}", "", ""),
        ("bot CPU per update", f"{bot['closed']['cpu_us_per_update']:.0f} µs", "", ""),
        (f"SQLite calls holding the loop >= 2 ms: closed / {results['rate']:.0f}/s / {TELEGRAM_RATE:.0f}/s",
         " / ".join(str(bot[phase].get("sqlite_over_2ms", "-")) for phase in PHASES)
         + f" (longest {max(bot[phase].get('sqlite_longest_ms', 0.0) for phase in PHASES):.1f} ms)", "", ""),
        ("echo CPU per update", f"{echo['closed']['cpu_us_per_update']:.0f} µs", "", ""),
        (f"disk reads (page faults, KiB): closed / {results['rate']:.0f}/s / {TELEGRAM_RATE:.0f}/s",
         " / ".join(f"{bot['disk_reads'][phase][0]}, {bot['disk_reads'][phase][1] // 1024}" for phase in PHASES)
         + " (echo " + " / ".join(f"{echo['disk_reads'][phase][0]}, {echo['disk_reads'][phase][1] // 1024}"
                                  for phase in PHASES) + ")", "", ""),
        ("closed loop: bot's event-loop thread / busiest other thread / machine busy",
         f"{bot['closed']['loop_thread_busy']:.0%} / {bot['closed']['busiest_other_thread_busy']:.0%} / "
         f"{bot['closed']['machine_busy']:.0%}", "", ""),
        ("echo closed loop: machine busy", f"{echo['closed']['machine_busy']:.0%}", "", ""),
        ("echo on parcelbot's transport, closed loop", f"{lean['updates_per_s']:.0f} updates/s, "
         f"{lean['cpu_us_per_update']:.0f} µs CPU per update", "", ""),
        ("bot peak RSS", f"{bot['peak_rss_mb']:.0f} MB", "< 150 MB", ok(bot["peak_rss_mb"] < 150)),
        ("echo peak RSS", f"{echo['peak_rss_mb']:.0f} MB", "", ""),
        ("planning a week (dataset)", f"{results['plan_s']:.3f} s", "< 0.5 s", ok(results["plan_s"] < 0.5)),
        ("retention job (a month later)", f"{work['retention_s']:.3f} s", "", ""),
        ("backup", f"{work['backup_s']:.3f} s", "", ""),
        ("restore", f"{work['restore_s']:.3f} s", "", ""),
        ("rotate-key per 10,000 sealed fields", f"{work['rotate_per_10k_s']:.2f} s", "", ""),
        ("database size per 1,000 prisoners", f"{results['db_mb_per_1000']:.2f} MB", "", ""),
        ("cold start to first reply", f"{results['cold_start_s']:.2f} s", "", ""),
    ]


def print_table(table: list[tuple[str, str, str, str]]) -> str:
    header = ("figure", "value", "goal", "ok?")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |"
             for row in [header, tuple("-" * w for w in widths), *table]]
    text = "\n".join(lines)
    print(text)
    return text


# -- main --------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict:
    if args.pin:
        os.sched_setaffinity(0, {1})
    durations = QUICK_RUN if args.quick else FULL_RUN
    load_before = args.load_before
    workdir = Path(tempfile.mkdtemp(prefix="parcelbot-bench-"))
    results: dict = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                     "quick": args.quick, "in_flight": args.in_flight, "rate": args.rate, "engine": args.engine,
                     "pinned": args.pin,
                     "rate_limiter": "AIORateLimiter with overall/group rates 0 (bench/bot_process.py)",
                     "load_before": load_before}
    api = signals = None
    try:
        data_dir = workdir / "data"
        data_dir.mkdir(mode=0o700)
        print(f"building the dataset in {workdir} ...", flush=True)
        data = await build(data_dir / "parcelbot.db", FULL)
        # The driver hosts the fake server and records every call: its garbage collector's full passes
        # grew with that record and paused it for up to ~230 ms, inflating both bots' tail latency.
        # A load generator must not pause, so it collects only between bots (it has memory to spare).
        gc.collect()
        gc.freeze()
        gc.disable()
        size = (data_dir / "parcelbot.db").stat().st_size
        results.update(plan_s=data.plan_seconds, runs_published=data.runs_published,
                       db_mb_per_1000=size / 2**20 / (FULL.prisoners / 1000), dataset_build_s=data.build_seconds,
                       scale=vars(FULL))
        config = workdir / "bench.toml"
        # Production settings, except per-member inbound limits: a few hundred synthetic people send far
        # more commands a minute than real ones; the gate's limiter code runs all the same.
        config.write_text("[limits]\ncommands_per_minute = 1000\nlist_views_per_hour = 10000\n"
                          f"claims_per_day = 1000\n[storage]\ndatabase_engine = \"{args.engine}\"\n",
                          encoding="utf-8")
        api = FakeBotApi(token=TOKEN, max_calls=40_000, max_messages_per_chat=50)
        await api.start()
        signals, done = await DoneListener.start()
        port = api.port

        print("parcelbot: cold start, then closed and open loop ...", flush=True)
        bot, results["cold_start_s"], results["start_up_messages"] = await cold_start(
            api, data, lambda: start_bot(data_dir, port, done.address, config, workdir / "bot.log", args.profile,
                                         pinned=args.pin))
        pick, board = parcelbot_journeys(data)
        results["coordinator_view"] = board
        try:
            results["parcelbot"] = await measure(Driver(api, done, pick), bot.pid, durations, args.in_flight, args.rate,
                                                 args.spy)
        finally:
            await stop(bot)
        count_slow_sql(results["parcelbot"], workdir / SLOW_SQL_FILE)
        log = (workdir / "bot.log").read_text(encoding="utf-8", errors="replace")
        results["bot_log_errors"] = sum(1 for line in log.splitlines() if " ERROR " in line or "Traceback" in line)
        results["api_violations"] = len(api.violations)
        api.reset()
        gc.collect()

        print("echo bot: closed and open loop ...", flush=True)
        echo = start_echo(port, done.address, pinned=args.pin)
        driver = Driver(api, done, echo_journeys)
        try:
            await driver.closed_loop(1, 2.0)  # waits until the echo bot polls
            results["echo"] = await measure(driver, echo.pid, durations, args.in_flight, args.rate)
            del results["echo"]["windows"]  # the echo bot has no database
        finally:
            await stop(echo)
            gc.collect()

        print("echo bot on parcelbot's transport and update processor: closed loop ...", flush=True)
        lean = start_echo(port, done.address, lean=True, pinned=args.pin)
        driver = Driver(api, done, echo_journeys)
        try:
            await driver.closed_loop(1, 2.0)
            await driver.closed_loop(args.in_flight, durations.warmup)
            before = cpu_seconds(lean.pid)
            closed = await driver.closed_loop(args.in_flight, durations.closed)
            results["echo_lean"] = {"closed": summary(closed, cpu_seconds(lean.pid) - before)}
        finally:
            await stop(lean)

        print("work at scale ...", flush=True)
        results["work"] = await work_at_scale(data_dir / "parcelbot.db", workdir)
        results["load_after"] = load_average()
    finally:
        if signals is not None:
            signals.close()
        if api is not None:
            await api.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases (about 30 s), same dataset")
    parser.add_argument("--in-flight", type=int, default=16, help="people in flight in the closed loop")
    parser.add_argument("--pin", action="store_true",
                        help="bot on one core, driver and fake server on the other (less interference)")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help="how the bot calls SQLite ([storage] database_engine)")
    parser.add_argument("--rate", type=float, default=200.0, help="updates/s offered in the open loop")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/latest.json or quick.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory and bot log")
    parser.add_argument("--profile", type=Path, help="run the bot under cProfile and write its stats here")
    parser.add_argument("--spy", type=Path, help="sample the bot with py-spy during the closed loop (raw stacks)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="first wait up to this long for the machine's load average to fall under 0.5")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.wait_quiet:
        print(f"waiting up to {args.wait_quiet:.0f} s for the load average to fall under 0.5 ...", flush=True)
    args.load_before = wait_quiet(0.5, args.wait_quiet)
    results = asyncio.run(main_async(args))
    table = rows(results)
    print()
    print(f"parcelbot benchmark, {results['started']}, {results['machine']}, "
          f"load average {results['load_before']:.2f} before, {results['load_after']:.2f} after")
    if max(results["load_before"], results["load_after"]) >= 1.0:
        print("WARNING: other work was running on this machine; the figures are pessimistic and noisy.")
    text = print_table(table)
    bot = results["parcelbot"]
    print(f"\nbot: `parcelbot run` with {results['rate_limiter']}, database engine {results.get('engine', 'inline')};"
          f" {results['in_flight']} people in flight "
          f"(closed loop), Poisson arrivals at {results['rate']:.0f}/s (open loop); coordinator view "
          f"{results['coordinator_view']}.")
    print(f"checks: {bot['closed']['errors'] + bot['open']['errors']} failed calls, "
          f"{results['api_violations']} Bot API violations, {results['bot_log_errors']} error lines in the bot log, "
          f"{bot['closed']['slow_downs'] + bot['open']['slow_downs']} 'slow down' replies, "
          f"{bot['closed']['skipped_presses']} presses skipped (no such button), "
          f"{results['runs_published']} runs published, {results['start_up_messages']} messages sent at start "
          f"before measuring (announcements due).")
    print(f"driver and fake server (one process) CPU per update: parcelbot "
          f"{bot['closed']['driver_cpu_us_per_update']:.0f} µs, echo "
          f"{results['echo']['closed']['driver_cpu_us_per_update']:.0f} µs")
    print("Bot API calls per update (closed loop): parcelbot "
          + ", ".join(f"{m} {n}" for m, n in bot["closed"]["calls_per_update"].items())
          + "; echo " + ", ".join(f"{m} {n}" for m, n in results["echo"]["closed"]["calls_per_update"].items()))
    for name, figures in (("parcelbot", bot), ("echo", results["echo"])):
        open_loop = figures["open"]
        print(f"{name} at {results['rate']:.0f} updates/s, p50 / p99 ms of each part: until a getUpdates answer "
              f"carried it {'/'.join(map(str, open_loop['to_delivery_p50_p99_ms']))}, until the bot began it "
              f"{'/'.join(map(str, open_loop['to_start_p50_p99_ms']))}, processing "
              f"{'/'.join(map(str, open_loop['processing_p50_p99_ms']))}")
    by_step = bot["open"]["p50_p99_ms_by_step"]
    print(f"at {results['rate']:.0f} updates/s offered, p50 / p99 ms by step: "
          + ", ".join(f"{kind} {p50:g}/{p99:g}" for kind, (p50, p99, _) in
                      sorted(by_step.items(), key=lambda item: -item[1][1])))
    results["table"] = [dict(zip(("figure", "value", "goal", "ok"), row, strict=True)) for row in table]
    results["table_text"] = text
    results["wall_s"] = time.monotonic() - started
    out = args.out or ROOT / "bench" / "results" / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
          f"({results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
