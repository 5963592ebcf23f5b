"""The weekly planning job: on the planning day the next week's drafts are made and coordinators told.

One row per week: kind "plan_week", ref_id = the ordinal of the Monday being planned, so scheduling
the same week twice is one row, and a week planned once is never planned again by the job.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services import runs as run_service
from handlers.context import BotContext
from handlers.notify import tell_coordinators
from schedules.jobs import Send, job
from storage.repositories import UnitOfWork

PLAN_KIND = "plan_week"
PLAN_WEEKDAY = 6  # Sunday: the default of [runs] plan_weekday
PLAN_TIME = "18:00"


def next_planning(now: datetime, tz: ZoneInfo, weekday: int = PLAN_WEEKDAY, at: str = PLAN_TIME
                  ) -> tuple[datetime, date]:
    """The next planning moment after `now` (local weekday and time) and the Monday it plans for."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = datetime.combine(day, time.fromisoformat(at), tz)
    if moment <= local:
        day += timedelta(days=7)
        moment = datetime.combine(day, time.fromisoformat(at), tz)
    return moment, day + timedelta(days=7 - day.weekday())


async def ensure_scheduled(context: BotContext) -> None:
    """The next planning row exists (idempotent: called at every start-up and after each planning)."""
    runtime = context.runtime
    config = runtime.config
    moment, week_start = next_planning(runtime.clock.now(), config.tz, config.plan_weekday, config.plan_time)
    async with runtime.store.write() as uow:
        await uow.schedule.put(PLAN_KIND, week_start.toordinal(), moment)


@job(PLAN_KIND)
async def plan_week(context: BotContext, uow: UnitOfWork, ref_id: int) -> Send | None:
    """Draft the week's runs; a week already over (the bot was down for long) is skipped."""
    tz = context.runtime.config.tz
    week_start = date.fromordinal(ref_id)
    now = uow.clock.now()
    config = context.runtime.config
    moment, next_week = next_planning(now, tz, config.plan_weekday, config.plan_time)
    await uow.schedule.put(PLAN_KIND, next_week.toordinal(), moment)
    if run_service.week_bounds(week_start, tz)[1] <= now:
        return None
    drafts = await run_service.plan_in(uow, week_start, tz)

    async def tell() -> None:
        if drafts:
            await tell_coordinators(context, "The plan for next week is ready. Tasks to review: {count}. Open /plan.",
                                    count=len(drafts))
        else:  # "0 to review, open /plan" would send them to look for nothing
            await tell_coordinators(context, "Nothing new to plan for next week: no open needs fit a handover window.")

    return tell
