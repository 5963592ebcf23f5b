"""Due work, polled from rows: every reminder, deadline and deletion is a row in `scheduled`.

Why poll rows instead of one JobQueue job per row: APScheduler keeps jobs in memory only and silently
drops a `run_once` whose time has passed (unless misfire_grace_time=None), so a restart would lose or
skip work. One repeating job reads the due rows every 30 s, and start-up runs a round at once, so
work that fell due while the bot was down happens exactly once. Time comes from runtime.clock.

Exactly once: each row is handled in its own write transaction that marks it done (a guarded update)
together with the job's own state change. A job that messages people returns a `Send` to run after
that commit: the state change is never lost, and a crash between commit and send loses at most the
message, never repeats it (a duplicate reminder or alert is worse than a missing one: coordinators
see the state in /board either way). A job that raises is rolled back and retried next round.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application

from handlers.cleanup import delete_tracked
from handlers.context import BotContext
from handlers.notify import send_held
from storage.repositories import UnitOfWork

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30
Send = Callable[[], Awaitable[Any]]
# kind -> async handler(context, uow, ref_id) -> a Send to run after the commit, or None.
Job = Callable[[BotContext, UnitOfWork, int], Awaitable[Send | None]]
JOBS: dict[str, Job] = {}


def job(kind: str) -> Callable[[Job], Job]:
    """Register a handler for one kind of scheduled row."""

    def register(handler: Job) -> Job:
        JOBS[kind] = handler
        return handler

    return register


def context_for(application: Application) -> BotContext:
    return application.context_types.context(application)


async def delete_due_messages(context: BotContext) -> int:
    """Tracked messages past their delete_after: gone from the chat, then forgotten (kind "delete_message").

    Runs every round on its own: tracked messages carry their own deadline, so no scheduled row is needed."""
    async with context.store.read() as uow:
        due = await uow.messages.due(context.runtime.clock.now())
    return await delete_tracked(context.bot, context.store, due) if due else 0


async def run_due(application: Application) -> int:
    """One round: every due row once, then the message deletions. Returns how many rows were done."""
    context = context_for(application)
    runtime = context.runtime
    async with runtime.store.read() as uow:
        items = await uow.schedule.due(runtime.clock.now())
    done = 0
    for item in items:
        handler = JOBS.get(item.kind)
        try:
            async with runtime.store.write() as uow:
                if not await uow.schedule.mark_done(item.id):
                    continue  # another round got there first
                send = await handler(context, uow, item.ref_id) if handler is not None else None
                if handler is None:
                    log.warning("scheduled kind without a handler: %s", item.kind)
        except Exception as error:  # noqa: BLE001 - one failing job must not stop the others
            log.error("scheduled job failed, will retry: kind=%s error=%s", item.kind, type(error).__name__)
            continue
        done += 1
        if send is not None:
            try:
                await send()
            except Exception as error:  # noqa: BLE001 - the state change is committed; the send is best effort
                log.warning("scheduled send failed: kind=%s error=%s", item.kind, type(error).__name__)
    try:
        await delete_due_messages(context)
    except Exception as error:  # noqa: BLE001 - retried next round
        log.warning("message deletion round failed: %s", type(error).__name__)
    try:
        # Lifting a lockdown sends them at once; this catches a restart in between.
        await send_held(context)
    except Exception as error:  # noqa: BLE001 - retried next round
        log.warning("held notices round failed: %s", type(error).__name__)
    return done


async def run_due_job(context: BotContext) -> None:
    await run_due(context.application)


async def install(application: Application) -> None:
    """At start-up: make sure recurring rows exist, run one round now, then every 30 s."""
    from schedules import digest, planning, retention, runs  # noqa: F401 - register their jobs, once

    await planning.ensure_scheduled(context_for(application))
    await retention.ensure_scheduled(context_for(application))
    await digest.ensure_scheduled(context_for(application))
    await run_due(application)
    if application.job_queue is not None:
        application.job_queue.run_repeating(run_due_job, interval=INTERVAL_SECONDS, first=1, name="due-work")
