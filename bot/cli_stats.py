"""`parcelbot stats [--csv]`: the chart's aggregates for the operator; counts, areas and categories only."""

from __future__ import annotations

import argparse
import csv
import sys

from bot.config import Config
from bot.services import reports


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


async def cmd_stats(config: Config, args: argparse.Namespace) -> int:
    from bot.cli import open_store

    store = await open_store(config)
    try:
        today = store.clock.now().astimezone(config.tz).date()
        figures = await reports.weekly_figures(store, reports.last_days(today)[1], weeks=args.weeks)
    finally:
        await store.close()
    rows = [reports.STATS_HEADER, *reports.stats_rows(figures)]
    if args.csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows)
    else:
        print(_table(rows))
    return 0


COMMANDS = {"stats": cmd_stats}


def _weeks(text: str) -> int:
    # A range type, not choices=range(...): argparse would list all 104 choices in the error.
    try:
        weeks = int(text)
    except ValueError:
        weeks = 0
    if not 1 <= weeks <= 104:
        raise argparse.ArgumentTypeError(f"expected a number of weeks from 1 to 104, got {text!r}")
    return weeks


def add_parsers(sub) -> None:
    stats = sub.add_parser("stats", help="parcels per week and area, needs per category (counts only)")
    stats.add_argument("--csv", action="store_true", help="print CSV instead of an aligned table")
    stats.add_argument("--weeks", type=_weeks, default=reports.CHART_WEEKS, metavar="1-104",
                       help=f"how many weeks back (default {reports.CHART_WEEKS})")
