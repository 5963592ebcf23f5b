"""Kill -9 the bot process at many points of a scripted week and restart it on the same database.

The bot runs as its own process (tests/kill_runner.py) against the fake Bot API server in this
process. After every step it is killed with SIGKILL, sometimes while an update is in flight, and
started again. At the end: no committed claim, outcome or request is lost or doubled, every due deletion
and scheduled row is done, and SQLite's integrity check passes.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain import (
    FacilityKind,
    FacilityRules,
    HandoverWindow,
    MemberStatus,
    NeedCategory,
    PrisonerStatus,
    Role,
)
from storage.crypto import TEST_KDF
from storage.store import Store
from tests.conftest import PASSPHRASE, TOKEN
from tests.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
KILLS_WANTED = 20


class BotProcess:
    def __init__(self, data_dir: Path, clock_file: Path, api: FakeBotApi) -> None:
        self.env = {**os.environ, "PARCELBOT_DATA_DIR": str(data_dir), "PARCELBOT_PASSPHRASE": PASSPHRASE,
                    "PARCELBOT_TOKEN": TOKEN, "PARCELBOT_API_BASE_URL": api.base_url,
                    "PARCELBOT_BOT_USERNAME": "parcel_test_bot"}
        self.clock_file = clock_file
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.kill_runner", str(self.clock_file), cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if line.strip() != b"READY":
            errors = await self.process.stderr.read()
            raise AssertionError(f"bot did not start: {line!r} {errors.decode()[-2000:]}")

    async def kill(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1
        self.process = None

    async def restart(self) -> None:
        await self.kill()
        await self.start()


async def _seed(store: Store) -> dict:
    """A coordinator, three Thursday volunteers, a family, a facility with a Thursday window, needs."""
    people = {}
    async with store.write() as uow:
        area = await uow.areas.add("Minsk")
        facility = await uow.facilities.add(
            kind=FacilityKind.SIZO, name="СИЗО канарейка", address="вул. Канарэйкі, 1", area_id=area.id,
            rules=FacilityRules(windows=(HandoverWindow(3, "09:00", "13:00"),), kg_per_month=30),
            effective_from=date(2026, 1, 1), places=2,
        )
        for number in range(3):
            prisoner = await uow.prisoners.add(alias=f"Alias {number}", full_name=f"Канарэйка {number}",
                                               birth_year=1980 + number, facility_id=facility.id,
                                               status=PrisonerStatus.PRE_TRIAL)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=2000,
                                details=f"канарейка {number}")
        for name, role, user_id in [("coordinator", Role.COORDINATOR, 5_560_000_001),
                                    ("v1", Role.VOLUNTEER, 5_560_000_002), ("v2", Role.VOLUNTEER, 5_560_000_003),
                                    ("v3", Role.VOLUNTEER, 5_560_000_004), ("family", Role.FAMILY, 5_560_000_005)]:
            member = await uow.members.add(role=role, status=MemberStatus.ACTIVE, telegram_user_id=user_id,
                                           chat_id=user_id, pseudonym=f"Kill Test {name}", language="en")
            if role is Role.VOLUNTEER:
                await uow.members.set_profile(member.id, (area.id,), (3,))
                await uow.members.set_trusted(member.id, True)
            people[name] = user_id
    return people


class Script:
    def __init__(self, api: FakeBotApi, bot: BotProcess, clock: FakeClock, clock_file: Path, seed: int) -> None:
        self.api, self.bot, self.clock, self.clock_file = api, bot, clock, clock_file
        self.random = random.Random(seed)

    def write_clock(self) -> None:
        self.clock_file.write_text(self.clock.now().isoformat())

    def _replied(self, user_id: int, since: int, pattern: str) -> bool:
        return any(call.method in ("sendMessage", "editMessageText") and call.chat_id == user_id
                   and re.search(pattern, str(call.params.get("text", "")))
                   for call in self.api.calls[since:])

    async def _wait_reply(self, user_id: int, since: int, expect: str) -> bool:
        for _ in range(300):  # up to 15 s: a loaded machine starts Python slowly
            if self._replied(user_id, since, expect):
                return True
            await asyncio.sleep(0.05)
        return False

    async def _press(self, user_id: int, label: str) -> bool | None:
        """Press the latest button whose text has `label`; None when there is no such button."""
        data = next((data for button, data in self.api.buttons(user_id) if label in button), None)
        if data is None:
            return None
        since = self.api.mark()
        self.api.press_button(user_id, data)
        return await self._wait_reply(user_id, since, r".")

    async def step(self, user_id: int, text: str | None, expect: str, *, label: str | None = None,
                   shown_by: str | None = None, path: tuple[str, ...] = ()) -> None:
        """Act, kill the bot at a random moment (often mid-update), restart, and wait for the outcome.

        If the outcome does not come (the process died with the update), the person does what a person
        does: tries again. A button is single-use (and a screen's buttons die with the process), so a
        retry first asks again for the message that shows it (`shown_by`, then the buttons of `path`
        in turn); if a button on the way is gone, the first press did take effect."""
        for attempt in range(4):
            if label is not None and attempt > 0 and shown_by is not None:
                since = self.api.mark()
                self.api.send_message(user_id, shown_by, language_code="en")
                if not await self._wait_reply(user_id, since, r"."):
                    continue
                pressed = [await self._press(user_id, step) for step in path]
                if None in pressed:
                    return  # a screen on the way no longer offers it: the earlier press was committed
                if not all(pressed):
                    continue
            since = self.api.mark()
            if label is not None:
                data = next((data for button, data in self.api.buttons(user_id) if label in button), None)
                if data is None:
                    if attempt > 0:
                        return  # the earlier press was committed before the kill; nothing left to press
                    raise AssertionError(f"no button {label!r}: {self.api.buttons(user_id)}")
                self.api.press_button(user_id, data)
            else:
                self.api.send_message(user_id, text, language_code="en")
            await asyncio.sleep(self.random.choice([0.0, 0.01, 0.03, 0.08, 0.2, 0.5]))
            await self.bot.restart()
            if await self._wait_reply(user_id, since, expect):
                return
        raise AssertionError(f"no reply matching {expect!r} after retries:\n{self.api.report()}")


@pytest.mark.timeout(600)
async def test_kill_9_at_twenty_points_of_a_week_loses_and_repeats_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    clock = FakeClock()
    clock.set(clock.now().replace(hour=9))  # Monday 23.11.2026
    clock_file = tmp_path / "clock"
    store = await Store.create(data_dir / "parcelbot.db", PASSPHRASE, kdf=TEST_KDF, clock=clock)
    people = await _seed(store)
    await store.close()

    api = FakeBotApi(token=TOKEN, bot_username="parcel_test_bot")
    await api.start()
    bot = BotProcess(data_dir, clock_file, api)
    script = Script(api, bot, clock, clock_file, seed=2026)
    script.write_clock()
    try:
        await bot.start()
        coordinator, v1, v2, v3, family = (people[k] for k in ("coordinator", "v1", "v2", "v3", "family"))
        await script.step(coordinator, "/plan", r"draft|No open needs|nothing to plan|R-")
        await script.step(coordinator, None, r"Volunteers|published|Published", label="Publish", shown_by="/plan")
        await script.step(v1, "/runs", r"R-")
        await script.step(v1, None, r"is yours|already have a place", label="Claim", shown_by="/runs")
        await script.step(v2, "/runs", r"R-")
        await script.step(v2, None, r"is yours|already have a place|full", label="Claim", shown_by="/runs")
        await script.step(v3, "/runs", r"R-|no open|No open|nothing")
        await script.step(v1, "/myruns", r"R-")
        await script.step(family, "/request", r".")
        await script.step(family, "Зоя Канарэйкіна", r".")
        await script.step(family, "1961", r".")
        for _ in range(3):
            await script.step(coordinator, "/help", r"/invite")
        await script.step(coordinator, "/volunteers", r"Members")
        await script.step(v3, "/help", r"/runs")
        for hours in (20, 30, 24, 24):  # through the week: reminders, deadlines and deletions fall due
            clock.advance(timedelta(hours=hours))
            script.write_clock()
            await script.step(coordinator, "/help", r"/invite")
        await script.step(v1, "/myruns", r".")
        await script.step(coordinator, "/audit", r"Recent activity")
        # The Thursday run of next week (03.12, 09:00-13:00 Minsk = 06:00-10:00 UTC): reminders the day
        # before, the confirmation deadline 12 h before, the check-in deadline at the end plus 4 h.
        for moment in [datetime(2026, 12, 2, 6, 30, tzinfo=UTC), datetime(2026, 12, 2, 18, 30, tzinfo=UTC),
                       datetime(2026, 12, 3, 11, 0, tzinfo=UTC), datetime(2026, 12, 3, 14, 30, tzinfo=UTC),
                       datetime(2026, 12, 3, 17, 0, tzinfo=UTC)]:
            clock.set(moment)
            script.write_clock()
            await script.step(coordinator, "/help", r"/invite")
            if moment.hour == 6:  # after the reminder: v1 confirms, v2 does not
                await script.step(v1, "/myruns", r"R-")
                await script.step(v1, None, r".", label="Confirm", shown_by="/myruns")
            if moment.hour == 11:  # after the window, before the check-in deadline: v1 reports every parcel
                await script.step(v1, "/myruns", r"R-")
                await script.step(v1, None, r"Report for", label="Report", shown_by="/myruns")
                for alias in ("Alias 0", "Alias 1", "Alias 2"):
                    await script.step(v1, None, r"How did it go", label=alias, shown_by="/myruns",
                                      path=("Report",))
                    await script.step(v1, None, r"Report for|Everything on", label="Delivered", shown_by="/myruns",
                                      path=("Report", alias))
        assert bot.kills >= KILLS_WANTED
        await asyncio.sleep(1.0)  # a last round of due work
    finally:
        await bot.kill()
        await api.stop()

    store = await Store.unlock(data_dir / "parcelbot.db", PASSPHRASE, clock=clock)
    try:
        assert await store.db.integrity_check() == "ok"
        async with store.read() as uow:
            v1_member = await uow.members.by_telegram(people["v1"])
            v2_member = await uow.members.by_telegram(people["v2"])
            live = await uow.session.all(
                "SELECT a.run_id, a.member_id, r.places FROM assignments a JOIN runs r ON r.id = a.run_id"
                " WHERE a.status IN ('claimed', 'confirmed', 'awaiting_approval', 'reported')"
            )
            due_rows = await uow.session.value(
                "SELECT count(*) FROM scheduled WHERE done_at IS NULL AND due_at < ?",
                (clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),),
            )
            overdue_messages = await uow.messages.due(clock.now() - timedelta(minutes=1))
        per_run: dict[int, list[int]] = {}
        for run_id, member_id, places in live:
            per_run.setdefault(run_id, []).append(member_id)
            assert len(per_run[run_id]) <= places, "a run has more assignments than places"
        for members in per_run.values():
            assert len(members) == len(set(members)), "a duplicate assignment"
        async with store.read() as uow:
            statuses = {member.id: [row[0] for row in await uow.session.all(
                "SELECT status FROM assignments WHERE member_id = ?", (member.id,))]
                for member in (v1_member, v2_member)}
        # v1 was told the place is theirs, confirmed it and reported every parcel delivered: never lost,
        # so the report was the check-in and no deadline froze them.
        assert statuses[v1_member.id] == ["reported"], statuses
        assert v1_member.status is MemberStatus.ACTIVE and v1_member.missed_checkins == 0
        async with store.read() as uow:
            outcomes = await uow.session.all("SELECT outcome FROM parcels")
        assert sorted(row[0] for row in outcomes) == ["delivered"] * 3, outcomes
        # v2 did not confirm: the deadline released the place, once.
        assert statuses[v2_member.id] in ([], ["released"]), statuses
        assert due_rows == 0, "scheduled work that fell due was never done"
        # State changes of the jobs happened exactly once, whatever the kills.
        for user_id in (people["v1"], people["v2"]):
            reminders = [text for text in api.sent_texts(user_id) if text.startswith("Reminder for tomorrow")]
            assert len(reminders) <= 1, "a reminder was sent twice"
        alerts = [text for text in api.sent_texts(people["coordinator"]) if text.startswith("Missed check-in")]
        assert alerts == [], "a volunteer who reported was taken for missing"
        for user_id in (people["v1"], people["v2"]):
            live = api.live_messages(user_id).values()
            assert not [m for m in live if str(m.get("text", "")).startswith("Details for your task")], \
                "a details message outlived its run"
        assert overdue_messages == [], "a message past its deletion time is still tracked"
    finally:
        await store.close()
