"""The daily retention job: one scheduled row per day (03:00 local), each erasing what has aged out."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from bot.services.retention import RetentionPolicy, run_retention
from handlers.context import BotContext
from schedules.jobs import job
from storage.repositories import UnitOfWork

log = logging.getLogger(__name__)
KIND = "retention"
HOUR = time(3, 0)


def _day_ref(moment: datetime) -> int:
    return int(moment.strftime("%Y%m%d"))


def next_run(now: datetime, tz) -> datetime:
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), HOUR, tzinfo=tz)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def policy_for(context: BotContext) -> RetentionPolicy:
    config = context.runtime.config
    return RetentionPolicy(run_days=config.run_retention_days, request_days=config.request_retention_days,
                           audit_days=config.audit_retention_days)


async def ensure_scheduled(context: BotContext) -> None:
    runtime = context.runtime
    due = next_run(runtime.clock.now(), runtime.config.tz)
    async with runtime.store.write() as uow:
        await uow.schedule.put(KIND, _day_ref(due), due)


@job(KIND)
async def retention_job(context: BotContext, uow: UnitOfWork, ref_id: int):
    """Mark today's row done and book tomorrow's in this transaction; erase right after the commit."""
    runtime = context.runtime
    following = next_run(runtime.clock.now() + timedelta(minutes=1), runtime.config.tz)
    await uow.schedule.put(KIND, _day_ref(following), following)

    async def erase() -> None:
        erased = await run_retention(runtime.store, policy_for(context))
        log.info("retention: %s", ", ".join(f"{kind}={count}" for kind, count in erased.items()))

    return erase
