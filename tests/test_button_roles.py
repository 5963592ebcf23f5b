"""Volunteer and family button actions pressed by a member of another role or status, holding a validly
issued token for them: nothing changes, and the answer is the one the authorization matrix expects (the
"expired" toast for an active member of another role, the neutral silent answer for frozen or revoked
members), with no message sent."""

from __future__ import annotations

import pytest

from bot.domain import MemberStatus, RequestDetails, RequestStatus, Role
from bot.services import buttons
from schedules import jobs
from tests.test_journey_runs import seed_week, stop_polling_job, volunteer

EXPIRED = "This button has expired. Send the command again."
VOLUNTEER_ACTIONS = ("runs.claim", "runs.details", "runs.release", "runs.report", "runs.partner")
REQUEST_ACTIONS = ("request.facility", "request.category", "request.next", "request.urgency", "request.confirm",
                   "request.cancel", "request.withdraw")
# The step each request action belongs to, so the presser is exactly where a family would press it.
REQUEST_STEP = {"request.facility": "facility", "request.category": "categories", "request.next": "categories",
                "request.urgency": "urgency", "request.confirm": "confirm", "request.cancel": "confirm",
                "request.withdraw": "confirm"}


async def _table_rows(bot, *tables: str) -> list:
    async with bot.store.read() as uow:
        return [await uow.session.all(f"SELECT * FROM {table} ORDER BY rowid") for table in tables]  # noqa: S608


async def _press_issued(bot, person, member_id: int, action: str, payload: dict):
    """Issue a token for `action` to the member, press it; return (toast text or None, messages sent)."""
    rows = await buttons.issue(bot.store, member_id, [[buttons.Choice("x", action, payload)]], ttl_hours=1)
    calls = await bot.press(person, rows[0][0][1])
    (answer,) = [call for call in calls if call.method == "answerCallbackQuery"]
    sent = [call for call in calls if call.method in ("sendMessage", "editMessageText", "sendDocument")
            and call.chat_id == person.chat_id]
    return answer.params.get("text"), sent


async def _freeze_or_revoke(bot, member_id: int, status: str) -> None:
    async with bot.store.write() as uow:
        if status.startswith("frozen"):
            await uow.members.set_status(member_id, MemberStatus.FROZEN)
        elif status.startswith("revoked"):
            await uow.members.revoke(member_id)


@pytest.mark.parametrize("status", ["family", "coordinator", "frozen volunteer", "revoked volunteer"])
async def test_volunteer_run_actions_change_nothing_for_another_role_or_status(bot, status):
    # Given a published two-place run; one place is held (by the presser itself when it is a volunteer
    # who is then frozen or revoked, so the action names their own place); one place is still free
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда Roles")
    area_id = await seed_week(bot)
    if status.endswith("volunteer"):
        presser = holder = await volunteer(bot, area_id, trusted=True, name="Кастусь Frozen")
    else:
        holder = await volunteer(bot, area_id, trusted=True, name="Holder Вольга")
        presser = await bot.join(Role.FAMILY if status == "family" else Role.COORDINATOR, name="Ірэна Other")
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    await bot.send(holder, "/runs")
    await bot.press_label(holder, f"Claim {code}")
    member = await bot.member(presser)
    await _freeze_or_revoke(bot, member.id, status)
    async with bot.store.read() as uow:
        (run,) = await uow.runs.list()
        (assignment,) = await uow.runs.assignments_of(run.id)
        reveals = len([entry for entry in await uow.audit.recent(1000) if entry.action == "details.revealed"])
    assert run.places == 2 and assignment.status.value == "claimed"
    before = await _table_rows(bot, "runs", "assignments", "parcels", "needs", "scheduled", "conversations")

    # When the presser presses each volunteer action, holding a validly issued token for it
    payloads = {"runs.claim": {"run": run.id}}
    for action in VOLUNTEER_ACTIONS:
        toast, sent = await _press_issued(bot, presser, member.id, action,
                                          payloads.get(action, {"assignment": assignment.id}))
        # Then the answer is the expected one and no message is sent to them
        expected = None if status.endswith("volunteer") else EXPIRED
        assert (action, toast) == (action, expected)
        assert (action, sent) == (action, [])

    # And nothing changed: no claim, the place is not given back, no details revealed, no conversation with
    # a partner begun
    assert await _table_rows(bot, "runs", "assignments", "parcels", "needs", "scheduled", "conversations") == before
    async with bot.store.read() as uow:
        assert reveals == len([entry for entry in await uow.audit.recent(1000) if entry.action == "details.revealed"])
    assert "unhandled error" not in bot.logs()


@pytest.mark.parametrize("status", ["coordinator", "volunteer", "frozen family", "revoked family"])
async def test_family_request_actions_change_nothing_for_another_role_or_status(bot, status):
    # Given a family with a waiting request (the presser itself when it is a family then frozen or revoked),
    # and the presser in the middle of a /request conversation, at the step of the action
    await bot.join(Role.COORDINATOR, name="Рагнеда Requests")
    async with bot.store.write() as uow:
        area = await uow.areas.add("Minsk")
    if status.endswith("family"):
        presser = owner = await bot.join(Role.FAMILY, name="Ганна Frozen")
    else:
        owner = await bot.join(Role.FAMILY, name="Owner Марыля")
        presser = await (volunteer(bot, area.id, trusted=True, name="Vol Янка") if status == "volunteer"
                         else bot.join(Role.COORDINATOR, name="Алег Coord"))
    owner_member = await bot.member(owner)
    member = await bot.member(presser)
    async with bot.store.write() as uow:
        request = await uow.requests.add(owner_member.id, RequestDetails(
            full_name="Выдуманы Вязень", birth_year=1979, facility_other="Выдуманая калонія", categories=("food",)))
    await _freeze_or_revoke(bot, member.id, status)
    data = {"full_name": "Іншы Вязень", "birth_year": 1991, "facility_id": None, "facility_other": "Другая калонія",
            "categories": ["food"], "text": "", "urgency": "normal"}

    for action in REQUEST_ACTIONS:
        async with bot.store.write() as uow:
            await uow.conversations.put(member.id, "request", REQUEST_STEP[action], data)
        before = await _table_rows(bot, "family_requests", "conversations", "prisoners", "needs")
        payload = {"request.facility": {"id": None}, "request.category": {"key": "hygiene"},
                   "request.urgency": {"urgency": "urgent"}, "request.withdraw": {"id": request.id}}.get(action, {})
        toast, sent = await _press_issued(bot, presser, member.id, action, payload)
        expected = None if status.endswith("family") else EXPIRED
        assert (action, toast) == (action, expected)
        assert (action, sent) == (action, [])
        # Nothing is filed, withdrawn or moved on; the conversation stays where it was
        assert (action, await _table_rows(bot, "family_requests", "conversations", "prisoners", "needs")) == (
            action, before)

    async with bot.store.read() as uow:
        requests = await uow.requests.list()
    assert [(r.id, r.status) for r in requests] == [(request.id, RequestStatus.WAITING)]
    assert "unhandled error" not in bot.logs()
