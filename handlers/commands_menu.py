"""Telegram's command menu: per chat, the member's role's commands in the member's language.

Strangers see the default menu, which holds only /start. A member's chat gets its own list
(BotCommandScopeChat) after registration, a language change and a finished profile; a member who may
no longer use the bot (frozen, revoked, erased) gets the default back. At start-up the default menu is
set, and when the menu or its translations changed since the last start every member's list is
refreshed in the background.
"""

from __future__ import annotations

import hashlib
import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext

from bot.domain import Member, MemberStatus
from bot.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translator
from handlers.menu import MENU, PENDING_ALLOWED, commands_for

log = logging.getLogger(__name__)

STRANGER_COMMANDS = (("start", N_("Start")),)
VERSION_KEY = "menu_version"


def bot_commands(member: Member) -> list[BotCommand]:
    t = translator(member.language)
    return [BotCommand(command, t(description)) for command, description in commands_for(member)]


async def update_menu(bot: Bot, member: Member) -> bool:
    """Show this member their commands; False if Telegram refused (the menu is a convenience, never fatal)."""
    if not member.chat_id:
        return False
    scope = BotCommandScopeChat(member.chat_id)
    try:
        if member.usable:
            await bot.set_my_commands(bot_commands(member), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as error:
        log.warning("command menu not updated: member=%s error=%s", member.id, type(error).__name__)
        return False
    return True


async def clear_menu(bot: Bot, chat_id: int) -> None:
    """Back to the default menu (only /start): after panic or erasure nothing hints at what the bot does."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as error:
        log.warning("command menu not cleared: %s", type(error).__name__)


async def set_default_menu(bot: Bot) -> None:
    """What strangers see, in each language Telegram reports (English where none matches)."""
    for language in LANGUAGES:
        t = translator(language)
        commands = [BotCommand(command, t(description)) for command, description in STRANGER_COMMANDS]
        await bot.set_my_commands(commands, language_code=None if language == SOURCE_LANGUAGE else language)


def menu_version() -> str:
    """Changes whenever a command, its roles or any translation of its description changes."""
    digest = hashlib.sha256(repr((MENU, PENDING_ALLOWED)).encode())
    for language in LANGUAGES:
        t = translator(language)
        digest.update("\0".join(t(description) for _, description, _ in MENU).encode())
    return digest.hexdigest()[:16]


async def install(application: Application) -> None:
    """At start-up: the default menu, then every member's list if the menu changed since last time."""
    try:
        await set_default_menu(application.bot)
    except TelegramError as error:
        log.warning("default command menu not set: %s", type(error).__name__)
    store = application.bot_data["runtime"].store
    version = menu_version()
    async with store.read() as uow:
        if await uow.meta.get_sealed(VERSION_KEY) == version:
            return
        members = await uow.members.list(statuses=(MemberStatus.ACTIVE, MemberStatus.PENDING))
    async with store.write() as uow:
        await uow.meta.set_sealed(VERSION_KEY, version)
    if members and application.job_queue is not None:
        # In the background: many members at Telegram's send rate would hold up the start.
        application.job_queue.run_once(_refresh, when=0, data=[member.id for member in members], name="menus")


async def _refresh(context: CallbackContext) -> None:
    store = context.application.bot_data["runtime"].store
    for member_id in context.job.data:
        async with store.read() as uow:
            member = await uow.members.get(member_id)
        if member is not None:
            await update_menu(context.bot, member)
