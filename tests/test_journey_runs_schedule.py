"""Scheduled work as rows: exactly once, moved by re-scheduling, done after a restart, deletions retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules import jobs
from schedules.planning import PLAN_KIND, next_planning
from tests.test_journey_runs import seed_week

SUNDAY_PLANNING = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # 18:00 in Minsk
NEXT_MONDAY = datetime(2026, 11, 30).date()


def stop_polling_job(bot) -> None:
    """Tests drive rounds themselves with run_due; the 30 s background round must not race them."""
    for job in bot.application.job_queue.get_jobs_by_name("due-work"):
        job.schedule_removal()


async def drafts(bot) -> int:
    async with bot.store.read() as uow:
        return len(await uow.runs.list())


# The schedule repository ---------------------------------------------------------------------------


async def test_a_row_is_done_once_and_rescheduling_moves_only_undone_rows(store, clock):
    now = clock.now()
    async with store.write() as uow:
        await uow.schedule.put("remind_run", 42, now + timedelta(hours=5))
        await uow.schedule.put("remind_run", 42, now + timedelta(hours=1))  # moved, not doubled
        assert [item.due_at for item in await uow.schedule.pending()] == [now + timedelta(hours=1)]
        assert await uow.schedule.due(now) == []
    clock.advance(timedelta(hours=1))
    async with store.write() as uow:
        (item,) = await uow.schedule.due(clock.now())
        assert await uow.schedule.mark_done(item.id) is True
        assert await uow.schedule.mark_done(item.id) is False  # a second round does nothing
        await uow.schedule.put("remind_run", 42, clock.now() + timedelta(hours=3))  # a done row stays done
        assert await uow.schedule.pending() == []
        await uow.schedule.put("checkin_deadline", 42, clock.now())
        assert await uow.schedule.cancel("checkin_deadline", 42) is True
        assert await uow.schedule.due(clock.now() + timedelta(days=9)) == []


def test_the_next_planning_is_sunday_evening_local_for_the_following_monday():
    from zoneinfo import ZoneInfo

    moment, week = next_planning(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), ZoneInfo("Europe/Minsk"))
    assert moment == SUNDAY_PLANNING and week == NEXT_MONDAY
    moment, week = next_planning(SUNDAY_PLANNING, ZoneInfo("Europe/Minsk"))
    assert moment == SUNDAY_PLANNING + timedelta(days=7) and week == NEXT_MONDAY + timedelta(days=7)


# Jobs through the running bot ------------------------------------------------------------------------


async def test_the_weekly_plan_is_made_once_when_due_and_coordinators_are_told(bot):
    from bot.domain import Role

    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_week(bot)
    await jobs.run_due(bot.application)
    assert await drafts(bot) == 0  # not Sunday evening yet
    bot.clock.set(SUNDAY_PLANNING + timedelta(minutes=1))
    assert await jobs.run_due(bot.application) >= 1
    assert await drafts(bot) == 1
    assert bot.last_text(coordinator) == "The plan for next week is ready. Tasks to review: 1. Open /plan."
    await jobs.run_due(bot.application)  # exactly once: a second round plans nothing more
    assert await drafts(bot) == 1
    assert bot.texts(coordinator).count("The plan for next week is ready. Tasks to review: 1. Open /plan.") == 1
    async with bot.store.read() as uow:
        (following,) = [item for item in await uow.schedule.pending() if item.kind == PLAN_KIND]
    assert following.due_at == SUNDAY_PLANNING + timedelta(days=7)
    # A week later nothing is open: coordinators are not sent to /plan to look for nothing
    bot.clock.set(SUNDAY_PLANNING + timedelta(days=7, minutes=1))
    await jobs.run_due(bot.application)
    assert bot.last_text(coordinator) == "Nothing new to plan for next week: no open needs fit a handover window."


async def test_planning_that_fell_due_while_the_bot_was_down_happens_once_after_restart(bot):
    from bot.domain import Role

    coordinator = await bot.join(Role.COORDINATOR)
    await seed_week(bot)
    await bot.stop()
    bot.clock.set(SUNDAY_PLANNING + timedelta(hours=3))  # the bot was down at 18:00
    await bot.start()  # post_init runs a round at once
    stop_polling_job(bot)
    assert await drafts(bot) == 1
    assert "The plan for next week is ready" in bot.last_text(coordinator)
    await bot.restart()
    stop_polling_job(bot)
    assert await drafts(bot) == 1


async def test_due_tracked_messages_are_deleted_and_a_failed_deletion_is_retried(bot):
    from bot.domain import Role

    stop_polling_job(bot)
    person = await bot.join(Role.VOLUNTEER)
    member = await bot.member(person)
    messages = []
    for hours in (1, 2):
        sent = await bot.application.bot.send_message(person.chat_id, "Details for your task")
        async with bot.store.write() as uow:
            await uow.messages.track(member_id=member.id, kind="details", chat_id=person.chat_id,
                                     message_id=sent.message_id, delete_after=bot.clock.now() + timedelta(hours=hours))
        messages.append(sent.message_id)
    bot.clock.advance(timedelta(hours=1))
    bot.api.inject_fault("deleteMessage", "500")
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        assert len(await uow.messages.all()) == 2  # Telegram failed: kept for the next round
    bot.clock.advance(timedelta(hours=1))
    await jobs.run_due(bot.application)
    deleted = bot.api.deleted_ids(person.chat_id)
    assert sorted(deleted) == sorted(messages)
    async with bot.store.read() as uow:
        assert await uow.messages.all() == []


async def test_a_message_telegram_no_longer_has_counts_as_deleted(bot):
    from bot.domain import Role

    stop_polling_job(bot)
    person = await bot.join(Role.VOLUNTEER)
    member = await bot.member(person)
    async with bot.store.write() as uow:
        await uow.messages.track(member_id=member.id, kind="details", chat_id=person.chat_id, message_id=999_999,
                                 delete_after=bot.clock.now())
    await jobs.run_due(bot.application)
    async with bot.store.read() as uow:
        assert await uow.messages.all() == []
