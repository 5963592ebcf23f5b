"""Lockdown: the whole bot stops serving anyone but coordinators and deletes what it can."""

from __future__ import annotations

from bot.domain import Member, TrackedMessage
from bot.services.membership import require_coordinator
from storage.store import Store


async def is_on(store: Store) -> bool:
    async with store.read() as uow:
        return await uow.meta.flag("lockdown")


async def switch(store: Store, actor: Member, on: bool) -> list[TrackedMessage]:
    """Turn lockdown on or off; when turning on, return every tracked message for deletion."""
    require_coordinator(actor)
    async with store.write() as uow:
        await uow.meta.set_flag("lockdown", on)
        await uow.audit.add("lockdown.on" if on else "lockdown.off", actor_id=actor.id)
        return await uow.messages.all() if on else []
