"""Recognising members and keeping their last-active day (to the day, no finer)."""

from __future__ import annotations

from bot.domain import Member
from storage.store import Store


async def recognise(store: Store, telegram_user_id: int) -> Member | None:
    """The member behind a Telegram user id, or None. Writes only once a day per member."""
    async with store.read_one() as uow:
        member = await uow.members.by_telegram(telegram_user_id)
    if member is None:
        return None
    today = store.clock.now().date()
    if member.last_active_on != today or member.unreachable:
        # They wrote to us, so they have also unblocked the bot if they had.
        async with store.write_one() as uow:
            await uow.members.seen(member.id, today)
    return member
