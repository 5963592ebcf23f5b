"""Foundation journeys: the real Application over HTTP to the fake Bot API server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.domain import MemberStatus, Role
from tests.canary import find_canaries
from tests.conftest import PASSPHRASE, TOKEN

NEUTRAL = "This is a private bot."
ROOT = Path(__file__).resolve().parents[1]


async def _row_counts(bot):
    async with bot.store.read() as uow:
        return await uow.counts()


async def test_a_stranger_gets_the_neutral_line_and_leaves_no_trace(bot):
    before = await _row_counts(bot)
    stranger = bot.person(name="Незнакомец")
    for text in ("hello", "/help", "/start", "/start not-a-code", "/invite", "/start " + "A" * 22):
        await bot.send(stranger, text)
    await bot.press(stranger, "forged-callback")
    assert bot.texts(stranger) == [NEUTRAL] * 6
    assert await _row_counts(bot) == before
    assert str(stranger.user_id) not in bot.logs()
    assert "Незнакомец" not in bot.logs()


async def test_coordinator_invited_from_the_cli_registers_and_sees_coordinator_help(bot, config):
    await bot.store.db.checkpoint()
    env = {**os.environ, "PARCELBOT_DATA_DIR": str(config.data_dir), "PARCELBOT_PASSPHRASE": PASSPHRASE,
           "PARCELBOT_BOT_USERNAME": "parcel_test_bot"}
    env.pop("PARCELBOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "invite", "--role", "coordinator"], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    link = next(line for line in result.stdout.splitlines() if line.startswith("Link: "))
    assert link.startswith("Link: https://t.me/parcel_test_bot?start=")
    code = link.rsplit("=", 1)[1]

    alice = bot.person(name="Алеся")
    await bot.send(alice, f"/start {code}")
    member = await bot.member(alice)
    assert member is not None and member.role is Role.COORDINATOR and member.status is MemberStatus.ACTIVE
    assert member.pseudonym in bot.last_text(alice)

    await bot.send(alice, "/help")
    help_text = bot.last_text(alice)
    assert "coordinator" in help_text and "/invite" in help_text and member.pseudonym in help_text


async def test_a_used_code_is_refused_with_the_neutral_line(bot):
    code = await bot.invite_code(Role.VOLUNTEER)
    first, second = bot.person(), bot.person()
    await bot.send(first, f"/start {code}")
    assert await bot.member(first) is not None
    await bot.send(second, f"/start {code}")
    assert bot.texts(second) == [NEUTRAL]
    assert await bot.member(second) is None


async def test_an_expired_code_is_refused(bot, clock):
    code = await bot.invite_code(Role.FAMILY, hours=72)
    clock.advance(timedelta(hours=72, seconds=1))
    late = bot.person()
    await bot.send(late, f"/start {code}")
    assert bot.texts(late) == [NEUTRAL]
    assert await bot.member(late) is None


async def test_bad_codes_are_throttled_without_touching_the_database(bot):
    prober = bot.person()
    for attempt in range(bot.config.bad_codes_per_hour):
        await bot.send(prober, f"/start {'B' * 21}{attempt % 10}")
    good = await bot.invite_code(Role.FAMILY)
    await bot.send(prober, f"/start {good}")
    assert await bot.member(prober) is None  # throttled: even a good code is not tried now
    async with bot.store.read() as uow:
        assert (await uow.invites.usable(good, bot.clock.now())) is not None


async def test_a_registered_member_is_greeted_again_not_registered_twice(bot):
    person = await bot.join(Role.FAMILY)
    pseudonym = (await bot.member(person)).pseudonym
    code = await bot.invite_code(Role.COORDINATOR)
    await bot.send(person, f"/start {code}")
    assert (await bot.member(person)).role is Role.FAMILY
    assert "Welcome back" in bot.last_text(person) and pseudonym in bot.last_text(person)


async def test_group_chats_are_left_and_ignored(bot):
    member = await bot.join(Role.COORDINATOR)
    calls = await bot.send(member, "/help", chat_id=-100200300, chat_type="supergroup")
    assert [call.method for call in calls if call.method == "sendMessage"] == []
    calls = await bot.enqueue({
        "my_chat_member": {
            "chat": {"id": -100200301, "type": "group", "title": "Team"},
            "from": {"id": member.user_id, "is_bot": False, "first_name": "Anon"},
            "date": 1764000000,
            "old_chat_member": {"status": "left", "user": {"id": 7000000001, "is_bot": True, "first_name": "Bot"}},
            "new_chat_member": {"status": "member", "user": {"id": 7000000001, "is_bot": True, "first_name": "Bot"}},
        }
    })
    assert [call.params.get("chat_id") for call in calls if call.method == "leaveChat"] == [-100200301]


async def test_every_message_is_protected(bot):
    person = await bot.join(Role.FAMILY)
    await bot.send(person, "/help")
    sends = bot.api.calls_to("sendMessage", chat_id=person.chat_id)
    assert sends and all(call.params.get("protect_content") in (True, "true", "True") for call in sends)


async def test_an_error_in_a_handler_gives_a_kind_line_and_logs_only_the_type(bot):
    person = await bot.join(Role.FAMILY, name="Марыля")

    async def broken(update, context):
        raise ValueError("secret detail Канарейка-9")

    help_handler = next(h for h in bot.application.handlers[0] if "help" in getattr(h, "commands", ()))
    help_handler.callback = broken
    await bot.send(person, "/help")
    assert "Something went wrong" in bot.last_text(person)
    logs = bot.logs()
    assert "ValueError" in logs and "incident=" in logs
    assert "Канарейка" not in logs and "secret detail" not in logs


async def test_journeys_leave_no_identity_on_disk_or_in_logs(bot):
    people = [await bot.join(role, name=name) for role, name in
              [(Role.COORDINATOR, "Ядвіга"), (Role.VOLUNTEER, "Zofia Canary"), (Role.FAMILY, "Глеб")]]
    pseudonyms = [(await bot.member(person)).pseudonym for person in people]
    for person in people:
        await bot.send(person, "/help")
    await bot.send(people[0], "/invite")
    await bot.press_label(people[0], "Volunteer")
    assert "https://t.me/parcel_test_bot?start=" in bot.last_text(people[0])
    await bot.stop()
    canaries = [str(person.user_id) for person in people] + pseudonyms + ["Ядвіга", "Zofia Canary", "Глеб"]
    assert find_canaries(bot.database_files, canaries) == []
    logs = bot.logs()
    for needle in canaries + [TOKEN, TOKEN.split(":")[1]]:
        assert needle not in logs
