"""Screen buttons live in memory only: never written, bound to one member, expiring, single-use where
they change state, dropped when the member is frozen, and expired by a restart. Buttons that may wait
for hours (alerts, prompts sent by jobs) stay in the sealed table and survive a restart."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import MemberStatus, Role
from bot.services import buttons, membership
from storage.repositories.tokens import MISSING, LiveTokens
from storage.store import Store
from tests.conftest import PASSPHRASE

EXPIRED = "This button has expired. Send the command again."


async def _table_rows(store) -> int:
    async with store.read() as uow:
        return await uow.session.value("SELECT count(*) FROM callback_tokens")


async def process_restart(bot) -> None:
    """What a new process sees: the same database, a new Store (and so no live tokens)."""
    await bot.stop()
    await bot.store.close()
    bot.store = await Store.unlock(bot.config.database_path, PASSPHRASE, clock=bot.clock)
    await bot.start()


def _toasts(bot) -> list[str]:
    return [call.params.get("text", "") for call in bot.api.calls_to("answerCallbackQuery")]


async def test_a_screen_writes_no_token_and_a_restart_expires_its_buttons(bot):
    coordinator = await bot.join(Role.COORDINATOR, name="Мірон")
    await bot.send(coordinator, "/invite")
    assert len(bot.api.buttons(coordinator.chat_id)) == 3
    assert await _table_rows(bot.store) == 0  # nothing about the screen reached the database
    await bot.press_label(coordinator, "Volunteer")
    assert "t.me/parcel_test_bot?start=" in bot.last_text(coordinator)

    await bot.send(coordinator, "/invite")
    family_button = next(data for label, data in bot.api.buttons(coordinator.chat_id) if "Family" in label)
    await bot.restart()
    await bot.press(coordinator, family_button)
    assert _toasts(bot)[-1] != EXPIRED  # the harness's restart keeps the process, and so its memory

    await bot.send(coordinator, "/invite")
    family_button = next(data for label, data in bot.api.buttons(coordinator.chat_id) if "Family" in label)
    await process_restart(bot)
    texts_before = len(bot.texts(coordinator))
    await bot.press(coordinator, family_button)
    assert _toasts(bot)[-1] == EXPIRED
    assert len(bot.texts(coordinator)) == texts_before  # no invite was made
    await bot.stop()
    await bot.store.close()


async def test_lasting_buttons_are_sealed_rows_and_survive_a_restart(bot):
    coordinator = await bot.join(Role.COORDINATOR, name="Olga")
    member = await bot.member(coordinator)
    rows = await buttons.issue(bot.store, member.id, [[buttons.Choice("Volunteer", "invite.role",
                                                                      {"role": "volunteer"})]],
                               ttl_hours=48, lasting=True)
    assert await _table_rows(bot.store) == 1
    await process_restart(bot)
    await bot.press(coordinator, rows[0][0][1])
    assert "t.me/parcel_test_bot?start=" in bot.last_text(coordinator)
    await bot.press(coordinator, rows[0][0][1])  # single-use: a replay finds nothing
    assert _toasts(bot)[-1] == EXPIRED
    await bot.stop()
    await bot.store.close()


async def test_freezing_a_member_drops_the_buttons_already_shown_to_them(bot):
    coordinator = await bot.join(Role.COORDINATOR, name="Зміцер")
    volunteer = await bot.join(Role.VOLUNTEER, name="Ева")
    actor, target = await bot.member(coordinator), await bot.member(volunteer)
    rows = await buttons.issue(bot.store, target.id, [[buttons.Choice("x", "language.set", {"language": "be"})]],
                               ttl_hours=48)
    await membership.freeze(bot.store, actor, target.id, "coordinator")
    await membership.reinstate(bot.store, actor, target.id)
    assert (await bot.member(volunteer)).status is MemberStatus.ACTIVE
    assert await buttons.redeem(bot.store, rows[0][0][1], target.id) is None


def test_a_live_token_is_its_members_only_expires_and_is_spent_once(clock):
    live = LiveTokens()
    now = clock.now()
    once, many = live.issue(7, [("a", {"n": 1}, True), ("b", {"n": 2}, False)], expires_at=now + timedelta(hours=1),
                            now=now)
    assert live.redeem(once, 8, now) is None  # someone else's: refused ...
    assert live.redeem(once, 7, now) == ("a", {"n": 1})  # ... and still its owner's
    assert live.redeem(once, 7, now) is MISSING  # spent and forgotten: the table has nothing either
    assert live.redeem(many, 7, now) == ("b", {"n": 2})
    assert live.redeem(many, 7, now) == ("b", {"n": 2})  # not single-use (e.g. a toggle)
    assert live.redeem(many, 7, now + timedelta(hours=1)) is None  # expired
    assert live.redeem("forged-token-0000000000", 7, now) is MISSING  # the caller then asks the table


def test_a_payload_cannot_be_changed_after_issue(clock):
    live = LiveTokens()
    payload = {"run": 1}
    (token,) = live.issue(7, [("runs.claim", payload, True)], expires_at=clock.now() + timedelta(hours=1),
                          now=clock.now())
    payload["run"] = 2
    assert live.redeem(token, 7, clock.now()) == ("runs.claim", {"run": 1})


def test_memory_is_bounded_per_member_and_expired_tokens_are_swept(clock):
    live = LiveTokens(per_member=5)
    now = clock.now()
    first = live.issue(1, [("a", {}, True)] * 3, expires_at=now + timedelta(hours=1), now=now)
    later = live.issue(1, [("a", {}, True)] * 4, expires_at=now + timedelta(hours=1), now=now)
    assert [live.redeem(token, 1, now) for token in first[:2]] == [MISSING, MISSING]  # the oldest went first
    assert live.redeem(first[2], 1, now) == ("a", {})
    assert len(live) == 4
    live.issue(2, [("b", {}, True)], expires_at=now + timedelta(hours=3), now=now)
    live.sweep(now + timedelta(hours=2))
    assert len(live) == 1  # member 1's expired tokens are gone, member 2's remains
    assert live.redeem(later[0], 1, now + timedelta(hours=2)) is MISSING
    live.revoke_member(2)
    assert len(live) == 0
