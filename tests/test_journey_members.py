"""Members journeys: invites in chat, profiles, the member list, freeze/revoke, panic, forget-me, limits."""

from __future__ import annotations

import ast
import json
import re
from datetime import timedelta
from pathlib import Path

from bot.app import RECENT_KEY
from bot.clock import to_db
from bot.domain import AssignmentStatus, MemberStatus, Role
from handlers.members import AUDIT_ACTIONS
from storage.repositories.base import new_id
from tests.canary import find_canaries

NEUTRAL = "This is a private bot."
UNKNOWN = "I did not understand that."


async def _coordinator_with_area(bot, *areas):
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда")
    async with bot.store.write() as uow:
        for name in areas or ("Minsk",):
            await uow.areas.add(name)
    return coordinator


async def _volunteer_with_profile(bot, area="Minsk", days=("Mon", "Thu")):
    volunteer = await bot.join(Role.VOLUNTEER)
    await bot.send(volunteer, "/profile")
    await bot.press_label(volunteer, area)
    await bot.press_label(volunteer, "Next")
    for day in days:
        await bot.press_label(volunteer, day)
    await bot.press_label(volunteer, "Save")
    return volunteer


async def _seed_claim(bot, member_id):
    """A published run with one live claim by the member (the runs feature's tables, written directly)."""
    now = bot.clock.now()
    async with bot.store.write() as uow:
        facility_id, run_id = new_id(), new_id()
        await uow.session.run(
            "INSERT INTO facilities (id, kind, name, address, created_at) VALUES (?, 'sizo', ?, ?, ?)",
            (facility_id, b"x", b"x", to_db(now)),
        )
        await uow.session.run(
            "INSERT INTO runs (id, code, facility_id, window_start, window_end, places, status, created_at)"
            " VALUES (?, 'R-TEST', ?, ?, ?, 2, 'published', ?)",
            (run_id, facility_id, to_db(now + timedelta(days=2)), to_db(now + timedelta(days=2, hours=4)),
             to_db(now)),
        )
        await uow.session.run(
            "INSERT INTO assignments (id, run_id, member_id, status, claimed_at) VALUES (?, ?, ?, 'claimed', ?)",
            (new_id(), run_id, member_id, to_db(now)),
        )
    return run_id


async def _assignment_statuses(bot, member_id):
    async with bot.store.read() as uow:
        rows = await uow.session.all("SELECT status FROM assignments WHERE member_id = ?", (member_id,))
    return [row[0] for row in rows]


async def _track(bot, person, member_id):
    """A bot message in the person's chat that the outbox must delete later."""
    sent = await bot.application.bot.send_message(person.chat_id, "Details for your task")
    async with bot.store.write() as uow:
        await uow.messages.track(member_id=member_id, kind="details", chat_id=person.chat_id,
                                 message_id=sent.message_id, delete_after=bot.clock.now() + timedelta(hours=47))
    return sent.message_id


def _deleted(bot, person):
    return bot.api.deleted_ids(person.chat_id)


# Onboarding -----------------------------------------------------------------------------------------


async def test_coordinator_invites_a_volunteer_in_chat_with_a_one_time_link(bot):
    coordinator = await _coordinator_with_area(bot)
    await bot.send(coordinator, "/invite")
    await bot.press_label(coordinator, "Volunteer")
    link = re.search(r"https://t\.me/parcel_test_bot\?start=([A-Za-z0-9_-]+)", bot.last_text(coordinator))
    assert link, bot.last_text(coordinator)
    code = link.group(1)
    assert len(code) >= 22  # 16 random bytes: 128 bits, well above 80

    volunteer = bot.person()
    await bot.send(volunteer, f"/start {code}")
    member = await bot.member(volunteer)
    assert member.role is Role.VOLUNTEER and member.status is MemberStatus.PENDING
    assert "/profile" in bot.last_text(volunteer)
    await bot.stop()
    assert find_canaries(bot.database_files, [code]) == []  # stored only as a keyed hash


async def test_a_pending_volunteer_must_finish_the_profile_first(bot):
    await _coordinator_with_area(bot)
    volunteer = await bot.join(Role.VOLUNTEER)
    await bot.send(volunteer, "/volunteers")
    assert "finish your profile" in bot.last_text(volunteer)
    await bot.send(volunteer, "/help")
    assert "/profile" in bot.last_text(volunteer) and "/volunteers" not in bot.last_text(volunteer)


async def test_a_volunteer_sets_areas_and_days_by_buttons_and_becomes_active(bot):
    await _coordinator_with_area(bot, "Minsk", "Gomel")
    volunteer = await _volunteer_with_profile(bot, "Gomel", ("Tue", "Sat"))
    member = await bot.member(volunteer)
    assert member.status is MemberStatus.ACTIVE
    assert member.weekdays == (1, 5)
    async with bot.store.read() as uow:
        gomel = await uow.areas.by_name("Gomel")
    assert member.area_ids == (gomel.id,)
    assert "Saved" in bot.last_text(volunteer)


async def test_saving_a_profile_needs_an_area_and_a_day(bot):
    await _coordinator_with_area(bot)
    volunteer = await bot.join(Role.VOLUNTEER)
    await bot.send(volunteer, "/profile")
    calls = await bot.press_label(volunteer, "Next")
    assert any("Choose at least one area" in str(call.params.get("text")) for call in calls)
    assert (await bot.member(volunteer)).status is MemberStatus.PENDING


async def test_language_changes_by_button(bot):
    family = await bot.join(Role.FAMILY)
    await bot.send(family, "/language")
    await bot.press_label(family, "Беларуская")
    assert (await bot.member(family)).language == "be"


# What members see -----------------------------------------------------------------------------------


async def test_coordinators_see_members_by_pseudonym_with_their_fields(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    await bot.send(coordinator, "/volunteers")
    text = bot.last_text(coordinator)
    pseudonym = (await bot.member(volunteer)).pseudonym
    line = next(line for line in text.splitlines() if pseudonym in line)
    for field in ("active", "volunteer", "on trial", "Minsk", "last active", "runs 0", "missed check-ins 0"):
        assert field in line, (field, line)
    assert str(volunteer.user_id) not in text


async def test_an_infiltrating_volunteer_cannot_list_members_or_use_others_buttons(bot):
    coordinator = await _coordinator_with_area(bot)
    target = await _volunteer_with_profile(bot)
    spy = await _volunteer_with_profile(bot)
    for command in ("/volunteers", "/audit", "/areas", "/invite"):
        await bot.send(spy, command)
        assert UNKNOWN in bot.last_text(spy), command
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, (await bot.member(target)).pseudonym)
    freeze_token = dict(bot.api.buttons(coordinator.chat_id))["Freeze"]
    await bot.press(spy, freeze_token)  # a coordinator's token, replayed by someone else
    assert (await bot.member(target)).status is MemberStatus.ACTIVE
    await bot.press(spy, "A" * 22)  # a forged token of the right shape
    assert (await bot.member(target)).status is MemberStatus.ACTIVE


async def test_a_spent_token_cannot_be_replayed(bot):
    coordinator = await _coordinator_with_area(bot)
    target = await _volunteer_with_profile(bot)
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, (await bot.member(target)).pseudonym)
    freeze_token = dict(bot.api.buttons(coordinator.chat_id))["Freeze"]
    await bot.press(coordinator, freeze_token)
    assert (await bot.member(target)).status is MemberStatus.FROZEN
    target_id = (await bot.member(target)).id
    async with bot.store.write() as uow:
        await uow.members.set_status(target_id, MemberStatus.ACTIVE)
    await bot.press(coordinator, freeze_token)  # replay
    assert (await bot.member(target)).status is MemberStatus.ACTIVE


# Protection -----------------------------------------------------------------------------------------


async def test_freeze_returns_claims_tells_coordinators_and_silences_the_member(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    member = await bot.member(volunteer)
    await _seed_claim(bot, member.id)
    details = await _track(bot, volunteer, member.id)
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, member.pseudonym)
    await bot.press_label(coordinator, "Freeze")
    assert (await bot.member(volunteer)).status is MemberStatus.FROZEN
    assert details in _deleted(bot, volunteer)  # whoever holds the phone finds no details in the chat
    assert await _assignment_statuses(bot, member.id) == [AssignmentStatus.RELEASED.value]
    assert any("went back to the pool" in text for text in bot.texts(coordinator))
    await bot.send(volunteer, "/runs")
    assert bot.last_text(volunteer) == NEUTRAL

    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, member.pseudonym)
    await bot.press_label(coordinator, "Reinstate")
    assert (await bot.member(volunteer)).status is MemberStatus.ACTIVE


async def test_trust_ends_the_trial(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, (await bot.member(volunteer)).pseudonym)
    await bot.press_label(coordinator, "Trust")
    assert (await bot.member(volunteer)).trusted


async def test_revoke_deletes_messages_erases_the_profile_and_needs_a_new_invite(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    member = await bot.member(volunteer)
    message_id = await _track(bot, volunteer, member.id)
    await _seed_claim(bot, member.id)
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, member.pseudonym)
    await bot.press_label(coordinator, "Revoke")
    await bot.press_label(coordinator, "Revoke for good")
    assert message_id in _deleted(bot, volunteer)
    assert await _assignment_statuses(bot, member.id) == ["released"]
    assert any("was revoked" in text for text in bot.texts(coordinator))
    async with bot.store.read() as uow:
        row = await uow.session.one("SELECT status, telegram_index, chat_id, profile FROM members WHERE id = ?",
                                    (member.id,))
        assert await uow.messages.for_member(member.id) == []
    assert row == ("revoked", None, None, None)
    await bot.send(volunteer, "/help")
    assert bot.last_text(volunteer) == NEUTRAL
    await bot.send(volunteer, "/start " + await bot.invite_code(Role.VOLUNTEER))
    assert (await bot.member(volunteer)).id != member.id
    await bot.stop()
    assert find_canaries(bot.database_files, [member.pseudonym, str(volunteer.user_id)]) == []


async def test_panic_deletes_tracked_messages_freezes_and_alerts_with_the_pseudonym_only(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    member = await bot.member(volunteer)
    first = await _track(bot, volunteer, member.id)
    second = await _track(bot, volunteer, member.id)
    await _seed_claim(bot, member.id)
    await bot.send(volunteer, "/panic")
    deleted = _deleted(bot, volunteer)
    assert first in deleted and second in deleted
    assert (await bot.member(volunteer)).status is MemberStatus.FROZEN
    assert await _assignment_statuses(bot, member.id) == ["released"]
    alert = next(text for text in bot.texts(coordinator) if "panic" in text)
    assert member.pseudonym in alert and str(volunteer.user_id) not in alert
    # It says what it did and what is left to the member: the bot cannot delete its other messages
    assert "paused" in bot.last_text(volunteer) and "Delete this chat in Telegram" in bot.last_text(volunteer)


async def test_forget_me_erases_the_member_from_every_file(bot):
    await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    member = await bot.member(volunteer)
    tracked = await _track(bot, volunteer, member.id)
    await bot.send(volunteer, "/forgetme")
    assert await bot.member(volunteer) is not None  # nothing happens before the confirmation
    await bot.press_label(volunteer, "Erase everything")
    assert tracked in _deleted(bot, volunteer)
    assert await bot.member(volunteer) is None
    async with bot.store.read() as uow:
        assert await uow.session.value("SELECT count FROM member_counts WHERE event = 'forgotten'") == 1
        assert await uow.session.value("SELECT count(*) FROM assignments WHERE member_id = ?", (member.id,)) == 0
    await bot.stop()
    assert find_canaries(bot.database_files, [member.pseudonym, str(volunteer.user_id)]) == []
    async with bot.store.read() as uow:  # not even sealed among the message ids a clean stop keeps
        kept = json.loads(await uow.meta.get_sealed(RECENT_KEY) or "{}")
    assert str(volunteer.chat_id) not in kept


async def test_the_last_coordinator_cannot_be_frozen_revoked_or_forgotten(bot):
    coordinator = await _coordinator_with_area(bot)
    await bot.send(coordinator, "/forgetme")
    await bot.press_label(coordinator, "Erase everything")
    assert "last active coordinator" in bot.last_text(coordinator)
    assert (await bot.member(coordinator)).status is MemberStatus.ACTIVE
    await bot.send(coordinator, "/panic")
    assert (await bot.member(coordinator)).status is MemberStatus.ACTIVE
    assert "last coordinator" in bot.last_text(coordinator)

    second = await bot.join(Role.COORDINATOR)
    await bot.send(second, "/volunteers")
    await bot.press_label(second, (await bot.member(coordinator)).pseudonym)
    await bot.press_label(second, "Freeze")
    assert (await bot.member(coordinator)).status is MemberStatus.FROZEN
    # Now `second` is the last active one: a frozen colleague cannot be used to lock everyone out.
    async with bot.store.read() as uow:
        assert await uow.members.count_active_coordinators() == 1


async def test_commands_are_throttled_per_member(bot):
    family = await bot.join(Role.FAMILY)
    limit = bot.config.commands_per_minute
    for _ in range(limit):
        await bot.send(family, "/help")
    await bot.send(family, "/help")
    assert "slow down" in bot.last_text(family)
    bot.clock.advance(timedelta(minutes=1, seconds=1))
    await bot.send(family, "/help")
    assert "What you can do" in bot.last_text(family) or "/language" in bot.last_text(family)


async def test_a_flood_alerts_coordinators_once(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    family = await bot.join(Role.FAMILY)
    for _ in range(bot.config.commands_per_minute * 3 + 2):
        await bot.send(family, "/help")
    await bot.api.wait_for("sendMessage", chat_id=coordinator.chat_id,
                           predicate=lambda call: "Unusual activity" in call.params.get("text", ""))
    pseudonym = (await bot.member(family)).pseudonym
    alerts = [text for text in bot.texts(coordinator) if "Unusual activity" in text]
    assert len(alerts) == 1 and pseudonym in alerts[0]


async def test_audit_shows_invites_and_status_changes_by_pseudonym(bot):
    coordinator = await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    pseudonym = (await bot.member(volunteer)).pseudonym
    await bot.send(coordinator, "/volunteers")
    await bot.press_label(coordinator, pseudonym)
    await bot.press_label(coordinator, "Trust")
    await bot.send(coordinator, "/audit")
    text = bot.last_text(coordinator)
    coordinator_name = (await bot.member(coordinator)).pseudonym
    assert f"{coordinator_name}: trusted a volunteer {pseudonym}" in text
    assert "operator: made an invite" in text and f"{pseudonym}: joined" in text
    assert "member." not in text and "invite." not in text, "words, not the stored action names"
    assert str(volunteer.user_id) not in text


def test_every_audit_action_the_code_writes_reads_as_words_in_audit():
    """/audit shows AUDIT_ACTIONS' words; an action written without them would show its internal name."""
    written: set[str] = set()
    prefixes: set[str] = set()
    for path in [*Path("bot").rglob("*.py"), *Path("handlers").rglob("*.py"), *Path("schedules").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "audit"):
                continue
            first = node.args[0]
            branches = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for branch in branches:
                if isinstance(branch, ast.Constant):
                    written.add(branch.value)
                elif isinstance(branch, ast.JoinedStr):  # f"member.frozen.{reason}", f"need.{status}"
                    prefixes.add(branch.values[0].value)
    # Passed in as a parameter (claims._decide): its callers' literals.
    written |= set(re.findall(r'"(run\.claim_\w+)"', Path("bot/services/claims.py").read_text(encoding="utf-8")))
    assert prefixes == {"member.frozen.", "need."}, "a new f-string action: list what it expands to here"
    written |= {"member.frozen.coordinator", "member.frozen.missed_checkin", "need.fulfilled", "need.cancelled"}
    assert len(written) > 30
    assert written - set(AUDIT_ACTIONS) == set()


async def test_a_long_member_list_is_leafed_through_page_by_page(bot):
    coordinator = await bot.join(Role.COORDINATOR)
    for number in range(9):
        await bot.join(Role.VOLUNTEER, name=f"Тэст {number}")
    await bot.send(coordinator, "/volunteers")
    assert bot.last_text(coordinator).startswith("Members (10), page 1 of 2:")
    assert [label for label, _ in bot.api.buttons(coordinator.chat_id)][-1] == "Next"
    await bot.press_label(coordinator, "Next")
    assert bot.last_text(coordinator).startswith("Members (10), page 2 of 2:")
    assert "Next" not in [label for label, _ in bot.api.buttons(coordinator.chat_id)]
    await bot.press_label(coordinator, "Previous")
    assert bot.last_text(coordinator).startswith("Members (10), page 1 of 2:")


async def test_forget_me_still_deletes_what_telegram_refused_to_delete_at_first(bot):
    """The member's rows go at once, but a details message Telegram would not delete just then (a 5xx)
    stays in the outbox, without the member, and the deletion job removes it on its next round."""
    from schedules import jobs

    for job in bot.application.job_queue.get_jobs_by_name("due-work"):
        job.schedule_removal()
    await _coordinator_with_area(bot)
    volunteer = await _volunteer_with_profile(bot)
    member = await bot.member(volunteer)
    tracked = await _track(bot, volunteer, member.id)
    await bot.send(volunteer, "/forgetme")
    bot.api.inject_fault("deleteMessages", "500", count=20)
    bot.api.inject_fault("deleteMessage", "500", count=20)
    await bot.press_label(volunteer, "Erase everything")
    assert await bot.member(volunteer) is None and tracked not in _deleted(bot, volunteer)
    bot.api.clear_faults()
    await jobs.run_due(bot.application)
    assert tracked in _deleted(bot, volunteer)
    async with bot.store.read() as uow:
        assert await uow.session.value("SELECT count(*) FROM tracked_messages") == 0
