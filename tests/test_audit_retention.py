"""Retention erases audit entries older than `audit_retention_days` (90 by default); younger ones stay."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.domain import Role
from schedules import jobs


async def audit_at(bot, action: str, subject: str) -> None:
    async with bot.store.write() as uow:
        await uow.audit.add(action, actor_id=None, subject=subject)


async def audit_actions(bot) -> list[str]:
    async with bot.store.read() as uow:
        return [entry.action for entry in await uow.audit.recent(10_000)]


async def retention_round(bot) -> None:
    """The daily retention row falls due at the clock's time (whatever else is due runs too)."""
    async with bot.store.read() as uow:
        (row,) = [item for item in await uow.schedule.pending() if item.kind == "retention"]
    assert row.due_at <= bot.clock.now()
    await jobs.run_due(bot.application)


async def test_audit_entries_older_than_90_days_are_erased_and_younger_ones_kept(bot):
    await bot.join(Role.COORDINATOR, name="Рагнеда Audit")
    assert bot.config.audit_retention_days == 90
    start = bot.clock.now()
    await audit_at(bot, "gaps.oldest", "Ancient Canary-5101")
    bot.clock.set(start + timedelta(hours=2))
    await audit_at(bot, "gaps.edge", "Edge Canary-5102")
    bot.clock.set(start + timedelta(days=45))
    await audit_at(bot, "gaps.middle", "Middle Canary-5103")
    assert {"member.registered", "invite.created"} <= set(await audit_actions(bot))

    # 90 days and one hour after the first entry: the first is past the cutoff, the one an hour later is not
    bot.clock.set(start + timedelta(days=90, hours=1))
    await retention_round(bot)
    actions = await audit_actions(bot)
    assert "gaps.oldest" not in actions
    assert "gaps.edge" in actions and "gaps.middle" in actions
    assert "retention" in actions  # the pass itself is recorded
    # the registration entries written when the coordinator joined (at the start) went with the oldest
    assert "member.registered" not in actions and "invite.created" not in actions

    # A day later the edge entry has aged out too; the middle one stays until its own 90 days
    bot.clock.set(start + timedelta(days=91, hours=1))
    await retention_round(bot)
    actions = await audit_actions(bot)
    assert "gaps.edge" not in actions and "gaps.middle" in actions
    bot.clock.set(start + timedelta(days=135, hours=1))
    await retention_round(bot)
    assert "gaps.middle" not in await audit_actions(bot)


class TestAConfiguredAuditRetention:
    @pytest.fixture
    def config(self, config):
        return dataclasses.replace(config, audit_retention_days=10)

    async def test_a_shorter_setting_erases_sooner(self, bot):
        await bot.join(Role.COORDINATOR)
        start = bot.clock.now()
        await audit_at(bot, "gaps.short", "Short-lived Canary-5104")
        bot.clock.set(start + timedelta(days=9, hours=20))
        await retention_round(bot)
        assert "gaps.short" in await audit_actions(bot)
        bot.clock.set(start + timedelta(days=10, hours=20))
        await retention_round(bot)
        assert "gaps.short" not in await audit_actions(bot)
