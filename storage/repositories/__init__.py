"""Repositories: sealed rows in, frozen domain values out. One UnitOfWork per use case."""

from __future__ import annotations

import functools
from typing import Any

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
from storage.repositories.notices import HeldNotices
from storage.repositories.prisoners import Prisoners
from storage.repositories.reports import Reports
from storage.repositories.requests import Requests
from storage.repositories.retention import Retention
from storage.repositories.runs import Runs
from storage.repositories.schedule import Schedule
from storage.repositories.tokens import CallbackTokens, LiveTokens


def _repository(cls: type) -> Any:
    """A repository made on first use (a use case touches two or three of the seventeen; building all
    of them for every session was measurable on every update), then kept for the session."""

    def make(uow: UnitOfWork) -> Any:
        return cls(uow.session, uow.keyring, uow.clock)

    return functools.cached_property(make)


class UnitOfWork:
    """The repositories of one transaction; the store commits it on a clean exit."""

    members: Members = _repository(Members)
    invites: Invites = _repository(Invites)
    audit: Audit = _repository(Audit)
    messages: TrackedMessages = _repository(TrackedMessages)
    notices: HeldNotices = _repository(HeldNotices)
    meta: Meta = _repository(Meta)
    conversations: Conversations = _repository(Conversations)
    areas: Areas = _repository(Areas)
    facilities: Facilities = _repository(Facilities)
    prisoners: Prisoners = _repository(Prisoners)
    needs: Needs = _repository(Needs)
    requests: Requests = _repository(Requests)
    runs: Runs = _repository(Runs)
    schedule: Schedule = _repository(Schedule)
    retention: Retention = _repository(Retention)
    reports: Reports = _repository(Reports)

    def __init__(self, session: Session, keyring: Keyring, clock: Clock, live_tokens: LiveTokens | None = None) -> None:
        self.session = session
        self.keyring = keyring
        self.clock = clock
        self.live_tokens = live_tokens

    @functools.cached_property
    def tokens(self) -> CallbackTokens:
        """The table's tokens; revoking a member also drops the live (in-memory) ones."""
        return CallbackTokens(self.session, self.keyring, self.clock, live=self.live_tokens)

    async def counts(self) -> dict[str, int]:
        """Rows per table: what `parcelbot check` reports and what a seized disk shows anyway."""
        tables = [row[0] for row in await self.session.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        counts = {}
        for table in tables:
            counts[table] = await self.session.value(f"SELECT count(*) FROM {table}")  # noqa: S608 - names from sqlite_master
        return counts
