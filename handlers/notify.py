"""Messages the bot starts itself (alerts, notices): each in the recipient's language, neutral first line."""

from __future__ import annotations

import logging

from telegram.error import Forbidden, TelegramError

from bot.domain import Member, MemberStatus, Role
from bot.i18n import translator
from handlers.context import BotContext

log = logging.getLogger(__name__)


async def send_to_member(context: BotContext, member: Member, message: str, /, *, silent: bool = False,
                         **values: object) -> int | None:
    """Send one translated message; returns the Telegram message id, or None if it could not go.

    A 403 means the member blocked the bot: recorded as unreachable so coordinators can see it.
    """
    text = translator(member.language)(message, **values)
    try:
        sent = await context.bot.send_message(member.chat_id, text, disable_notification=silent)
    except Forbidden:
        async with context.store.write() as uow:
            await uow.members.set_unreachable(member.id, True)
        log.warning("member unreachable: member=%s", member.id)
        return None
    except TelegramError as error:
        log.warning("send failed: member=%s error=%s", member.id, type(error).__name__)
        return None
    return sent.message_id


async def tell_coordinators(context: BotContext, message: str, /, **values: object) -> None:
    async with context.store.read() as uow:
        coordinators = await uow.members.list(role=Role.COORDINATOR, statuses=(MemberStatus.ACTIVE,))
    for coordinator in coordinators:
        await send_to_member(context, coordinator, message, **values)
