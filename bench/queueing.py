"""How low can the p99 be on one core? A seeded simulation of a single FIFO server (M/G/1).

The bot's work for all updates runs on one thread (its event loop), so at a given rate and CPU per
update, queueing alone sets a floor under the p99 before any Bot API round trip is added. Arrivals
are Poisson (as in bench/run.py's open loop); service times are gamma-distributed with the given
mean and coefficient of variation (bench.steps shows the kinds of step ranging ~1.5-5 ms, cv ~0.5).

    python -m bench.queueing                  # 200 updates/s, CPU per update 0.5-2.5 ms
    python -m bench.queueing --rate 30 --cpu-ms 2.0

It prints the p50 and p99 of time in the system (waiting + own CPU), in ms. A model, not a
measurement: real round trips, the driver on the same machine and the VM's noise only add to it.
"""

from __future__ import annotations

import argparse
import random

SEED = 2026


def sojourn_percentiles(rate: float, mean_s: float, cv: float, updates: int = 200_000) -> tuple[float, float]:
    """p50 and p99 (seconds) of waiting plus service for `updates` Poisson arrivals at `rate`/s."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible model, not secrets
    shape = 1 / cv**2
    scale = mean_s / shape
    arrival = free_at = 0.0
    times = []
    for _ in range(updates):
        arrival += rng.expovariate(rate)
        start = max(arrival, free_at)
        free_at = start + rng.gammavariate(shape, scale)
        times.append(free_at - arrival)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="updates per second offered")
    parser.add_argument("--cpu-ms", type=float, nargs="*", default=[0.5, 1.0, 1.5, 2.0, 2.5],
                        help="mean CPU per update, ms")
    args = parser.parse_args(argv)
    print(f"one core, Poisson arrivals at {args.rate:g}/s: p50 / p99 of time in the system")
    print("| CPU per update | load | cv 0.5            | cv 1.0            |")
    print("| -------------- | ---- | ----------------- | ----------------- |")
    for cpu_ms in args.cpu_ms:
        load = args.rate * cpu_ms / 1000
        if load >= 1:
            print(f"| {cpu_ms:11.2f} ms | {load:4.2f} | overloaded        | overloaded        |")
            continue
        cells = []
        for cv in (0.5, 1.0):
            p50, p99 = sojourn_percentiles(args.rate, cpu_ms / 1000, cv)
            cells.append(f"{p50 * 1000:5.1f} / {p99 * 1000:5.1f} ms")
        print(f"| {cpu_ms:11.2f} ms | {load:4.2f} | {cells[0]:17} | {cells[1]:17} |")


if __name__ == "__main__":
    main()
