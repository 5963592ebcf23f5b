"""The access gate (group -1): only registered, usable members get past it.

Strangers and frozen or revoked members get one neutral line and leave no trace: nothing is written
and nothing is logged. Group chats are left.
"""

from __future__ import annotations

from typing import NoReturn

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.domain import MemberStatus
from bot.i18n import pick_language
from bot.services import members as member_service
from bot.services.limits import Verdict
from handlers.context import BotContext
from handlers.errors import on_error
from handlers.menu import PENDING_ALLOWED
from handlers.notify import in_lockdown, tell_coordinators
from handlers.ui import answer_button


def _is_registration(update: Update) -> bool:
    message = update.message
    return bool(message and message.text and message.text.startswith("/start ") and len(message.text) < 200)


async def neutral(update: Update, context: BotContext) -> None:
    """The same short line for every stranger, every used code and every frozen account."""
    if update.callback_query is not None:
        await answer_button(update)
        return
    if update.message is not None:
        await update.message.chat.send_message(context.t("This is a private bot."))


async def gate(update: Update, context: BotContext) -> None:
    """Recognise the member or stop the update here. Fails closed: PTB would otherwise run the next
    handler groups after an exception in this one, without a member."""
    try:
        await _admit(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception as error:  # noqa: BLE001 - reported by the error handler, then the update stops
        context.error = error
        await on_error(update, context)
        raise ApplicationHandlerStop from None


async def _admit(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        if update.my_chat_member is not None and update.my_chat_member.new_chat_member.status in (
            "member", "administrator"
        ):
            await context.bot.leave_chat(chat.id)
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    runtime = context.runtime
    context.user_language = pick_language(user.language_code, runtime.config.default_language)
    member = await member_service.recognise(runtime.store, user.id)
    if member is None:
        if _is_registration(update):
            return  # the /start handler decides; it answers failures with the same neutral line
        await turn_away(update, context)
    if not member.usable:
        await turn_away(update, context)
    if in_lockdown(context) and not member.is_coordinator:
        # Served again after the lockdown: their chat's recent ids stay, for a later /panic or freeze.
        await turn_away(update, context, forget=False)
    context.member = member
    await _enforce_command_limit(update, context)
    if member.status is MemberStatus.PENDING and not _pending_may(update):
        await update.effective_chat.send_message(context.t("Please finish your profile first: send /profile."))
        raise ApplicationHandlerStop


async def turn_away(update: Update, context: BotContext, *, forget: bool = True) -> NoReturn:
    """The neutral line; `forget`: the chat's message ids (theirs and ours) are not kept even in memory."""
    await neutral(update, context)
    if forget and update.effective_chat is not None:
        context.runtime.recent.forget(update.effective_chat.id)
    raise ApplicationHandlerStop


def _pending_may(update: Update) -> bool:
    """A volunteer without a profile may finish it, change language, get help, or leave; nothing else."""
    if update.callback_query is not None:
        return True  # buttons are only ever shown for what they may do; the actions re-check roles
    text = (update.message.text or "") if update.message is not None else ""
    if not text.startswith("/"):
        return True
    command = text[1:].split()[0].split("@")[0].lower() if len(text) > 1 else ""
    return command in PENDING_ALLOWED


async def _enforce_command_limit(update: Update, context: BotContext) -> None:
    """Commands per minute per member; too many gets one short answer, a flood alerts coordinators."""
    member = context.me
    if update.message is None:
        return
    verdict = context.runtime.limiter.hit(member.id, "command")
    if verdict is Verdict.OK:
        return
    if verdict is Verdict.ANOMALY:
        context.application.create_task(
            tell_coordinators(context, "Unusual activity: {pseudonym} sent very many requests.",
                              pseudonym=member.pseudonym)
        )
    await update.message.chat.send_message(context.t("Please slow down and try again in a minute."))
    raise ApplicationHandlerStop
