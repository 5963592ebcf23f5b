"""Work at scale, timed in-process on the benchmark's database after the bot has stopped.

Retention runs "a month later" (a clock 30 days ahead, the week's runs marked done), so it has real
work: runs to count and erase, expired button tokens, old conversations. Then a sealed backup, a
restore into an empty directory, and a key rotation that re-seals every sealed field.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from bench.dataset import BENCH_KDF, PASSPHRASE
from bot.clock import FakeClock, SystemClock
from bot.services.retention import RetentionPolicy, run_retention
from storage import maintenance
from storage.store import Store


async def work_at_scale(database: Path, workdir: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    later = FakeClock(SystemClock().now() + timedelta(days=30))
    store = await Store.unlock(database, PASSPHRASE, clock=later)
    try:
        async with store.write() as uow:
            await uow.session.run("UPDATE runs SET status = 'done' WHERE status = 'published'")
        began = time.perf_counter()
        erased = await run_retention(store, RetentionPolicy())
        figures["retention_s"] = time.perf_counter() - began
        figures["retention_erased_runs"] = erased.get("runs", 0)
        figures["retention_erased_tokens"] = erased.get("tokens", 0)

        destination = workdir / ("bench" + maintenance.BACKUP_SUFFIX)
        began = time.perf_counter()
        figures["backup_bytes"] = await maintenance.backup(store, destination, PASSPHRASE, kdf=BENCH_KDF)
        figures["backup_s"] = time.perf_counter() - began

        began = time.perf_counter()
        await maintenance.restore(destination, workdir / "restored" / "parcelbot.db", PASSPHRASE)
        figures["restore_s"] = time.perf_counter() - began

        began = time.perf_counter()
        fields = await maintenance.rotate_key(store, PASSPHRASE)
        seconds = time.perf_counter() - began
        figures["rotate_fields"] = fields
        figures["rotate_s"] = seconds
        figures["rotate_per_10k_s"] = seconds / max(fields, 1) * 10_000
    finally:
        await store.close()
    return figures
