"""Hostile input through the real stack: random text, commands, buttons, strangers, edits and groups.

Hypothesis drives one running bot (its own event loop, shared by the examples). Nothing may escape
the error handler, a stranger may change nothing, and every request the bot makes must pass the
api.json validation of the fake server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.config import Config, Secret
from bot.domain import Role
from bot.logs import configure_logging
from storage.crypto import TEST_KDF
from storage.store import Store
from tests.conftest import PASSPHRASE, TOKEN
from tests.fake_bot_api import FakeBotApi
from tests.harness import Harness

COMMANDS = ["/start", "/help", "/cancel", "/invite", "/profile", "/language", "/areas", "/volunteers", "/audit",
            "/runs", "/myruns", "/plan", "/board", "/needs", "/prisoners", "/facilities", "/requests", "/request",
            "/status", "/report", "/nonsense", "/start@parcel_test_bot", "/HELP"]
weird_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=4096
).filter(lambda text: text.strip() != "")
nasty_fragments = st.sampled_from(["\u202e", "\u200f", "\x00", "\x1b[31m", "<b>", "&amp;", "{name}", "%s", "{}",
                                   "\\", "'; DROP TABLE members; --", "ё" * 300, "👩‍👩‍👧" * 50, "\r\n"])
command_text = st.builds(lambda command, args: f"{command} {args}".strip(), st.sampled_from(COMMANDS),
                         st.text(max_size=200))
messages = st.one_of(weird_text, command_text, st.lists(nasty_fragments, min_size=1, max_size=8).map("".join))
callback_data = st.one_of(st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64),
                          st.from_regex(r"[A-Za-z0-9_-]{22}", fullmatch=True))


class Running:
    """One bot on its own loop for all the examples of a test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory()
        self.stream = io.StringIO()
        self.handler = configure_logging("DEBUG", self.stream)
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        data_dir = Path(self.directory.name)
        self.clock = FakeClock()
        self.store = await Store.create(data_dir / "parcelbot.db", PASSPHRASE, kdf=TEST_KDF, clock=self.clock)
        self.api = FakeBotApi(token=TOKEN, bot_username="parcel_test_bot")
        await self.api.start()
        config = Config(data_dir=data_dir, token=Secret(TOKEN), passphrase=Secret(PASSPHRASE), kdf_cost=10,
                        bot_username="parcel_test_bot", api_base_url=self.api.base_url)
        config = dataclasses.replace(config, commands_per_minute=100_000, list_views_per_hour=100_000)
        self.bot = Harness(config=config, store=self.store, clock=self.clock, api=self.api, log_stream=self.stream)
        await self.bot.start()
        self.coordinator = await self.bot.join(Role.COORDINATOR)
        self.volunteer = await self.bot.join(Role.VOLUNTEER)
        self.family = await self.bot.join(Role.FAMILY)
        self.stranger = self.bot.person()

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        async def stop():
            await self.bot.stop()
            await self.api.stop()
            await self.store.close()
        self.run(stop())
        self.loop.close()
        logging.getLogger().removeHandler(self.handler)
        self.directory.cleanup()

    def counts(self) -> dict[str, int]:
        async def read():
            async with self.store.read() as uow:
                return await uow.counts()
        return self.run(read())

    def check(self) -> None:
        assert self.api.violations == [], self.api.violations
        logs = self.stream.getvalue()
        assert "unhandled error" not in logs, logs[-2000:]
        assert "Traceback" not in logs


@pytest.fixture(scope="module")
def running():
    running = Running()
    yield running
    running.close()


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(text=messages)
def test_strangers_change_nothing_whatever_they_send(running, text):
    before = running.counts()
    running.run(running.bot.send(running.stranger, text))
    running.run(running.bot.press(running.stranger, "x"))
    assert running.counts() == before
    running.check()


@SETTINGS
@given(who=st.sampled_from(["coordinator", "volunteer", "family"]), text=messages)
def test_members_get_an_answer_or_nothing_never_a_crash(running, who, text):
    person = getattr(running, who)
    running.run(running.bot.send(person, text))
    running.run(running.bot.send(person, "/cancel"))
    running.check()


@SETTINGS
@given(who=st.sampled_from(["coordinator", "volunteer", "family", "stranger"]), data=callback_data)
def test_forged_callback_data_changes_nothing(running, who, data):
    before = running.counts()
    running.run(running.bot.press(getattr(running, who), data))
    after = running.counts()
    assert after == before
    running.check()


@SETTINGS
@given(text=messages, chat_type=st.sampled_from(["group", "supergroup", "channel"]))
def test_group_messages_are_ignored(running, text, chat_type):
    mark = running.api.mark()
    running.run(running.bot.send(running.coordinator, text, chat_id=-100777, chat_type=chat_type))
    assert [call for call in running.api.calls[mark:] if call.method == "sendMessage"] == []
    running.check()


def test_edited_messages_and_replayed_buttons(running):
    running.run(running.bot.send(running.coordinator, "/invite"))
    buttons = running.api.buttons(running.coordinator.chat_id)
    token = buttons[0][1]
    running.run(running.bot.press(running.coordinator, token))
    invites = running.counts()["invites"]
    running.run(running.bot.press(running.coordinator, token))  # replay of a single-use token
    assert running.counts()["invites"] == invites
    sent = running.api.sent_texts(running.coordinator.chat_id)
    running.api.edit_message(running.coordinator.user_id, 1, "/invite edited")
    running.bot.enqueued += 1
    running.run(running.bot._wait_processed())
    running.check()
    assert len(running.api.sent_texts(running.coordinator.chat_id)) >= len(sent)
