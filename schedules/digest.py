"""The weekly digest job: one scheduled row per week ([reports] digest_weekday at digest_time, local).

ref_id is the digest day as yyyymmdd, so booking the same week twice is one row and a week's digest
is sent once. The job books the following week's row in its own transaction, then sends after the
commit (a crash in between loses at most this week's message, never repeats it).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from handlers.context import BotContext
from handlers.reports import send_digest
from schedules.jobs import Send, job
from storage.repositories import UnitOfWork

KIND = "weekly_digest"
STALE_AFTER = timedelta(days=6)  # a digest this late is skipped: the next one is nearly due


def next_digest(now: datetime, tz: tzinfo, weekday: int, at: str) -> datetime:
    """The first digest moment strictly after `now`: the local weekday and time."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = datetime.combine(day, time.fromisoformat(at), tz)
    if moment <= local:
        moment = datetime.combine(day + timedelta(days=7), time.fromisoformat(at), tz)
    return moment


def day_ref(moment: datetime, tz: tzinfo) -> int:
    return int(moment.astimezone(tz).strftime("%Y%m%d"))


def ref_day(ref_id: int) -> date:
    return date(ref_id // 10000, ref_id // 100 % 100, ref_id % 100)


async def ensure_scheduled(context: BotContext) -> None:
    """The next digest row exists (idempotent: called at every start-up)."""
    runtime = context.runtime
    config = runtime.config
    moment = next_digest(runtime.clock.now(), config.tz, config.digest_weekday, config.digest_time)
    async with runtime.store.write() as uow:
        await uow.schedule.put(KIND, day_ref(moment, config.tz), moment)


@job(KIND)
async def weekly_digest(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """Book next week's digest; send this one after the commit unless it is days late."""
    config = context.runtime.config
    now = uow.clock.now()
    following = next_digest(now, config.tz, config.digest_weekday, config.digest_time)
    await uow.schedule.put(KIND, day_ref(following, config.tz), following)
    day = ref_day(ref_id)
    due = datetime.combine(day, time.fromisoformat(config.digest_time), config.tz)
    if now - due > STALE_AFTER:
        return None

    async def send() -> None:
        await send_digest(context, day)

    return send
