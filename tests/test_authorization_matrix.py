"""Every command and every coordinator button action against every role and status.

Expected outcomes: strangers, frozen and revoked members get the neutral line; a pending volunteer is
sent to /profile for anything but the few commands that finish or leave; other roles get "I did not
understand" for commands that are not theirs; nobody but an active coordinator changes anything
through a coordinator action, even holding a validly issued token for it.
"""

from __future__ import annotations

import pytest

from bot.domain import MemberStatus, Role
from bot.services import buttons
from handlers.menu import MENU, PENDING_ALLOWED

NEUTRAL = "This is a private bot."
UNKNOWN = "I did not understand that."
PROFILE_FIRST = "finish your profile"
# Commands that change the caller's own state are checked in their own journeys.
SELF_CHANGING = {"panic", "forgetme"}
COMMANDS = sorted({command for command, _, _ in MENU} - SELF_CHANGING)
ROLE_OF = {command: roles for command, _, roles in MENU}
STATUSES = ("stranger", "pending", "trial", "trusted", "frozen", "revoked", "family", "coordinator")


async def _person_as(bot, status: str):
    if status == "stranger":
        return bot.person()
    role = {"family": Role.FAMILY, "coordinator": Role.COORDINATOR}.get(status, Role.VOLUNTEER)
    person = await bot.join(role)
    member = await bot.member(person)
    async with bot.store.write() as uow:
        if status in ("trial", "trusted", "frozen", "revoked"):
            await uow.members.set_status(member.id, MemberStatus.ACTIVE)
        if status == "trusted":
            await uow.members.set_trusted(member.id, True)
        if status == "frozen":
            await uow.members.set_status(member.id, MemberStatus.FROZEN)
        if status == "revoked":
            await uow.members.revoke(member.id)
    return person


def _expected(status: str, command: str) -> str:
    if status in ("stranger", "frozen", "revoked"):
        return "neutral"
    if status == "pending":
        return "allowed" if command in PENDING_ALLOWED else "profile_first"
    role = {"family": Role.FAMILY, "coordinator": Role.COORDINATOR}.get(status, Role.VOLUNTEER)
    return "allowed" if role in ROLE_OF[command] else "unknown"


def _outcome(text: str) -> str:
    assert "slow down" not in text
    if text == NEUTRAL:
        return "neutral"
    if UNKNOWN in text:
        return "unknown"
    if PROFILE_FIRST in text:
        return "profile_first"
    return "allowed"


@pytest.mark.parametrize("status", STATUSES)
async def test_every_command_for_every_status(bot, status):
    coordinator = await bot.join(Role.COORDINATOR)  # so the bot is never without one
    bot.runtime.limiter._limits["command"] = (10_000, 60.0)  # this test sends many commands on purpose
    async with bot.store.write() as uow:
        await uow.areas.add("Minsk")
    person = await _person_as(bot, status)
    outcomes = {}
    for command in COMMANDS:
        await bot.send(person, f"/{command}")
        outcomes[command] = _outcome(bot.last_text(person))
        await bot.send(person, "/cancel") if outcomes[command] == "allowed" else None
    assert outcomes == {command: _expected(status, command) for command in COMMANDS}
    assert (await bot.member(coordinator)).status is MemberStatus.ACTIVE


COORDINATOR_ACTIONS = [
    ("member.freeze", True), ("member.trust", True), ("member.revoke.confirm", True), ("member.reinstate", False),
]


@pytest.mark.parametrize("status", ["trial", "trusted", "family"])
async def test_coordinator_actions_change_nothing_for_other_roles_even_with_an_issued_token(bot, status):
    await bot.join(Role.COORDINATOR)
    victim = await bot.join(Role.VOLUNTEER)
    victim_member = await bot.member(victim)
    async with bot.store.write() as uow:
        await uow.members.set_status(victim_member.id, MemberStatus.ACTIVE)
    person = await _person_as(bot, status)
    member = await bot.member(person)
    for action, _ in COORDINATOR_ACTIONS:
        rows = await buttons.issue(bot.store, member.id, [[buttons.Choice("x", action, {"id": victim_member.id})]],
                                   ttl_hours=1)
        await bot.press(person, rows[0][0][1])
    after = await bot.member(victim)
    assert after.status is MemberStatus.ACTIVE and not after.trusted


def _coordinator_actions() -> list[str]:
    from bot.app import FEATURE_MODULES

    prefixes = ("invite.", "areas.", "member.", "members.", "facility.", "prisoner.", "need.", "review.")
    coordinator_runs = {"runs.approve", "runs.drop", "runs.undrop", "runs.places", "runs.publish", "runs.reject",
                        "runs.calloff_list", "runs.calloff_ask", "runs.calloff", "runs.calloff_keep"}
    return sorted(action for module in FEATURE_MODULES for action in getattr(module, "ACTIONS", {})
                  if action.startswith(prefixes) or action in coordinator_runs)


async def _state(bot) -> list:
    async with bot.store.read() as uow:
        return [await uow.session.all(f"SELECT * FROM {table} ORDER BY rowid") for table in  # noqa: S608
                ("members", "invites", "areas", "facilities", "facility_rules", "prisoners", "needs",
                 "family_requests", "runs", "parcels", "assignments", "refusals", "transfers")]


@pytest.mark.parametrize("status", ["trusted", "family"])
async def test_every_coordinator_button_action_is_refused_to_other_roles(bot, status):
    """A member holding a validly issued token for any coordinator action changes nothing and crashes
    nothing, whatever the payload names."""
    await bot.join(Role.COORDINATOR)
    victim = await bot.join(Role.VOLUNTEER)
    victim_id = (await bot.member(victim)).id
    person = await _person_as(bot, status)
    member = await bot.member(person)
    bot.runtime.limiter._limits["command"] = (10_000, 60.0)
    payload = {"id": victim_id, "role": "coordinator", "page": 0, "facility": 1, "prisoner": 1, "need": 1,
               "request": 1, "run": 1, "assignment": 1, "area": 1, "kind": "sizo", "day": 1, "field": "name",
               "status": "released", "category": "food", "urgency": "urgent", "reason": "other", "flag": "x"}
    await bot.send(person, "/help")  # the first update of the day records "last active"; not part of the check
    before = await _state(bot)
    actions = _coordinator_actions()
    assert len(actions) > 40
    for action in actions:
        rows = await buttons.issue(bot.store, member.id, [[buttons.Choice("x", action, payload)]], ttl_hours=1)
        await bot.press(person, rows[0][0][1])
    assert await _state(bot) == before
    assert "unhandled error" not in bot.logs()
