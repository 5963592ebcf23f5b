"""The typed context every handler gets: the runtime (store, config, clock), the member, a translator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Config
from bot.domain import Member
from bot.i18n import Translator, translator
from bot.services.limits import InboundLimiter
from handlers.recent import RecentMessages

if TYPE_CHECKING:
    from storage.store import Store


@dataclass
class Runtime:
    """Everything the handlers and jobs share; built once in bot/app.py."""

    config: Config
    store: Store
    clock: Clock
    limiter: InboundLimiter
    bot_username: str = ""
    extras: dict = field(default_factory=dict)
    # Message ids of the last 47 h per chat (in memory only), for /panic and freezes; read by the transport.
    recent: RecentMessages = field(init=False)

    def __post_init__(self) -> None:
        self.recent = RecentMessages(self.clock)


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """`member` is set by the access gate; handlers after the gate may rely on it."""

    member: Member | None = None
    user_language: str = "en"

    @property
    def runtime(self) -> Runtime:
        return self.application.bot_data["runtime"]

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def t(self) -> Translator:
        language = self.member.language if self.member is not None else self.user_language
        return translator(language)

    @property
    def me(self) -> Member:
        if self.member is None:  # the gate guarantees this for every handler after it
            raise RuntimeError("handler reached without a member")
        return self.member
