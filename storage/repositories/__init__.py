"""Repositories: sealed rows in, frozen domain values out. One UnitOfWork per use case."""

from __future__ import annotations

from bot.clock import Clock
from storage.crypto import Keyring
from storage.db import Session
from storage.repositories.areas import Areas
from storage.repositories.audit import Audit
from storage.repositories.conversations import Conversations
from storage.repositories.facilities import Facilities
from storage.repositories.invites import Invites
from storage.repositories.members import Members
from storage.repositories.messages import TrackedMessages
from storage.repositories.meta import Meta
from storage.repositories.needs import Needs
from storage.repositories.prisoners import Prisoners
from storage.repositories.reports import Reports
from storage.repositories.requests import Requests
from storage.repositories.retention import Retention
from storage.repositories.runs import Runs
from storage.repositories.schedule import Schedule
from storage.repositories.tokens import CallbackTokens


class UnitOfWork:
    """The repositories of one transaction; the store commits it on a clean exit."""

    def __init__(self, session: Session, keyring: Keyring, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.members = Members(session, keyring, clock)
        self.invites = Invites(session, keyring, clock)
        self.audit = Audit(session, keyring, clock)
        self.tokens = CallbackTokens(session, keyring, clock)
        self.messages = TrackedMessages(session, keyring, clock)
        self.meta = Meta(session, keyring, clock)
        self.conversations = Conversations(session, keyring, clock)
        self.areas = Areas(session, keyring, clock)
        self.facilities = Facilities(session, keyring, clock)
        self.prisoners = Prisoners(session, keyring, clock)
        self.needs = Needs(session, keyring, clock)
        self.requests = Requests(session, keyring, clock)
        self.runs = Runs(session, keyring, clock)
        self.schedule = Schedule(session, keyring, clock)
        self.retention = Retention(session, keyring, clock)
        self.reports = Reports(session, keyring, clock)

    async def counts(self) -> dict[str, int]:
        """Rows per table: what `parcelbot check` reports and what a seized disk shows anyway."""
        tables = [row[0] for row in await self.session.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        counts = {}
        for table in tables:
            counts[table] = await self.session.value(f"SELECT count(*) FROM {table}")  # noqa: S608 - names from sqlite_master
        return counts
