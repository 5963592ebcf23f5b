"""The journey harness: the real Application, polling the fake Bot API server over loopback HTTP.

Tests play people: `await bot.send(person, "/help")` enqueues an update as Telegram would and
returns once the bot has finished processing it, with the calls the bot made meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application, keep_recent_for_restart, make_runtime
from bot.clock import FakeClock
from bot.config import Config
from bot.domain import Member, Role
from bot.services import onboarding
from storage.store import Store
from tests.fake_bot_api import FakeBotApi

_user_ids = itertools.count(5_550_000_001)


class CountingApplication(Application):
    """Counts finished updates so a test can wait for exactly the work it caused."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.processed = 0
        self.progress = asyncio.Condition()

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        finally:
            async with self.progress:
                self.processed += 1
                self.progress.notify_all()


@dataclass
class Person:
    """Someone on the other side of Telegram. `user_id` doubles as the private chat id."""

    user_id: int
    language: str = "en"
    name: str = "Anon"

    @property
    def chat_id(self) -> int:
        return self.user_id


@dataclass
class Harness:
    config: Config
    store: Store
    clock: FakeClock
    api: FakeBotApi
    log_stream: StringIO
    application: CountingApplication | None = None
    enqueued: int = 0
    people: list[Person] = field(default_factory=list)
    rate_limiter: bool = False  # the production AIORateLimiter, for the fault tests

    async def start(self) -> None:
        self.enqueued = 0  # a new Application counts its own processed updates from zero
        self.runtime = make_runtime(self.config, self.store, self.clock)
        self.application = build_application(
            self.runtime, rate_limiter=self.rate_limiter, application_class=CountingApplication
        )
        await self.application.initialize()
        await self.application.post_init(self.application)
        await self.application.start()
        await self.application.updater.start_polling(timeout=1, poll_interval=0.0)

    async def stop(self) -> None:
        app = self.application
        if app is None:
            return
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            await keep_recent_for_restart(app)  # as bot/cli.py's serve() does on a clean stop
        await app.shutdown()
        self.application = None

    async def restart(self) -> None:
        """Stop the Application and start a new one on the same database (a process restart)."""
        await self.stop()
        await self.start()

    # People -------------------------------------------------------------------------------------

    def person(self, language: str = "en", name: str = "Anon") -> Person:
        person = Person(next(_user_ids), language, name)
        self.people.append(person)
        return person

    async def invite_code(self, role: Role, hours: int = 72) -> str:
        new = await onboarding.create_invite(self.store, role, hours=hours, created_by=None)
        return new.code

    async def join(self, role: Role, language: str = "en", name: str = "Anon") -> Person:
        """A person who registers with a fresh invite; returns them registered."""
        person = self.person(language, name)
        await self.send(person, "/start " + await self.invite_code(role))
        return person

    async def member(self, person: Person) -> Member | None:
        async with self.store.read() as uow:
            return await uow.members.by_telegram(person.user_id)

    # Driving ------------------------------------------------------------------------------------

    async def _wait_processed(self, timeout: float = 10.0) -> None:
        app = self.application
        async with app.progress:
            await asyncio.wait_for(app.progress.wait_for(lambda: app.processed >= self.enqueued), timeout)

    async def send(self, person: Person, text: str, **kwargs) -> list:
        mark = self.api.mark()
        self.api.send_message(person.user_id, text, language_code=person.language, first_name=person.name,
                              **kwargs)
        self.enqueued += 1
        await self._wait_processed()
        return self.api.calls[mark:]

    async def press(self, person: Person, callback_data: str, message_id: int | None = None) -> list:
        mark = self.api.mark()
        self.api.press_button(person.user_id, callback_data, message_id=message_id)
        self.enqueued += 1
        await self._wait_processed()
        return self.api.calls[mark:]

    async def press_label(self, person: Person, label: str) -> list:
        """Press the button whose text contains `label` on the person's latest keyboard."""
        for text, data in self.api.buttons(person.chat_id):
            if label in text:
                return await self.press(person, data)
        raise AssertionError(f"no button {label!r} in {self.api.buttons(person.chat_id)!r}")

    async def enqueue(self, update: dict) -> list:
        mark = self.api.mark()
        self.api.enqueue_update(update)
        self.enqueued += 1
        await self._wait_processed()
        return self.api.calls[mark:]

    def last_text(self, person: Person) -> str:
        texts = self.api.sent_texts(person.chat_id)
        return texts[-1] if texts else ""

    def texts(self, person: Person) -> list[str]:
        return self.api.sent_texts(person.chat_id)

    # Evidence -----------------------------------------------------------------------------------

    @property
    def database_files(self) -> list[Path]:
        return [path for path in self.store.db.files if path.exists()]

    def logs(self) -> str:
        return self.log_stream.getvalue()
