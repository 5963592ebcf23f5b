"""Lockdown: the whole bot stops serving anyone but coordinators and deletes what it can."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Member, TrackedMessage
from bot.services import run_jobs
from bot.services.membership import require_coordinator
from storage.store import Store


async def is_on(store: Store) -> bool:
    async with store.read() as uow:
        return await uow.meta.flag("lockdown")


async def switch(store: Store, actor: Member, on: bool, *, checkin_grace: timedelta) -> list[TrackedMessage]:
    """Turn lockdown on or off; when turning on, return every tracked message for deletion.

    Nobody could check in during the lockdown (only coordinators were served, and the report prompts
    waited), so when it ends every check-in deadline falls a full grace period later at the earliest:
    the prompts go out within minutes and each volunteer has the grace to answer."""
    require_coordinator(actor)
    async with store.write() as uow:
        await uow.meta.set_flag("lockdown", on)
        await uow.audit.add("lockdown.on" if on else "lockdown.off", actor_id=actor.id)
        if not on:
            await uow.schedule.not_before(run_jobs.CHECKIN_DEADLINE, uow.clock.now() + checkin_grace)
        return await uow.messages.all() if on else []


async def held_waiting(store: Store) -> int:
    """Notices held back while locked down, still to go (handlers/notify.send_held sends them)."""
    async with store.read() as uow:
        return await uow.notices.waiting()
