"""Updates from different people at once; each person's updates one at a time, in order.

PTB handles updates one after another by default, so while one reply travels to Telegram and back
every other person waits. With `concurrent_updates` PTB would instead run any updates at once, also
two from the same person: a typed answer could overtake the button press that opened its step, and
a double tap could run both presses side by side. This processor keeps a queue per person (per
Telegram user, or per chat for updates without one): their updates run strictly in arrival order,
while different people's updates interleave up to `limit` at a time.

What stays correct under interleaving is the database's job, as before (scheduled work already ran
beside updates): one asyncio lock around every session, BEGIN IMMEDIATE for writes, claims checked
inside their transaction, single-use buttons redeemed in one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Enough to keep the CPU busy while replies are in flight; small enough that a burst of updates
# does not open hundreds of half-finished conversations with the database at once.
DEFAULT_LIMIT = 32


class PerPersonOrder(BaseUpdateProcessor):
    __slots__ = ("_queues",)

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(max_concurrent_updates=limit)
        # person key -> [lock, updates holding or waiting for it]; forgotten when the count is 0.
        self._queues: dict[int, list] = {}

    async def process_update(self, update: object, coroutine: Awaitable) -> None:
        # The person's lock is taken before the shared semaphore: tasks start in arrival order and
        # asyncio.Lock serves waiters first come, first served, so a person's order is kept even
        # when all `limit` places are taken.
        key = _person(update)
        entry = self._queues.get(key)
        if entry is None:
            entry = self._queues[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                await super().process_update(update, coroutine)
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._queues[key]

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def people_waiting(self) -> int:
        """People with an update running or queued (for tests; nothing about who they are)."""
        return len(self._queues)


def _person(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return 0
