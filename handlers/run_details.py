"""The details message: sent silently and protected, tracked for deletion, re-sent by the Details button.

The first line is neutral ("Details for your task R-4K7Q"): a lock screen shows it to whoever holds the
phone. Names appear only further down, and only for the volunteer who holds the place.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.domain import Member, MemberStatus, Role
from bot.i18n import format_kg, format_window, translator
from bot.services import details as detail_service
from bot.services.details import Details
from bot.services.errors import DomainError
from handlers.cleanup import delete_tracked
from handlers.context import BotContext
from handlers.notify import held_back
from handlers.screens import CATEGORY_LABELS, deny
from handlers.ui import answering

log = logging.getLogger(__name__)


def render(details: Details, language: str, tz) -> str:
    t = translator(language)
    rules = details.rules
    lines = [t("Details for your task {code}", code=details.code), "",
             details.facility_name, details.address,
             t("When: {window}", window=format_window(details.window_start, details.window_end, language, tz))]
    if rules.kg_per_month is not None:
        lines.append(t("Up to {kg} kg a month per person.", kg=format_kg(rules.kg_per_month, t.language)))
    if rules.refused_categories:
        lines.append(t("Not accepted: {items}", items=", ".join(
            t(CATEGORY_LABELS.get(item, item)) for item in rules.refused_categories)))
    if rules.relatives_only:
        lines.append(t("Only relatives may hand in."))
    if rules.passport_recorded:
        lines.append(t("Bring your passport: it is recorded."))
    if rules.notes:
        lines.append(rules.notes)
    lines.append("")
    for parcel in details.parcels:
        contents = ", ".join(t(CATEGORY_LABELS[item]) if item in CATEGORY_LABELS else item for item in parcel.contents)
        lines.append(f"• {parcel.full_name}, {parcel.birth_year}: {contents}")
    lines += ["", t("This message will be deleted after the task.")]
    return "\n".join(lines)[:4096]


async def send_details(context: BotContext, member: Member, assignment_id: int) -> bool:
    """Reveal (audited), send silently, track. False when the place is not (or no longer) theirs, or the
    bot is in lockdown (the volunteer can press Details once it is lifted)."""
    if held_back(context, member):
        return False
    try:
        details = await detail_service.reveal(context.store, member.id, assignment_id)
    except DomainError:
        return False
    text = render(details, member.language, context.runtime.config.tz)
    try:
        # protect_content is the Application's default; silent, because the member did not just ask for it
        sent = await context.bot.send_message(member.chat_id, text, disable_notification=True)
    except TelegramError as error:
        log.warning("details not sent: member=%s error=%s", member.id, type(error).__name__)
        return False
    await detail_service.track(context.store, details, member.chat_id, sent.message_id)
    if not await detail_service.still_shown(context.store, member.id, assignment_id):
        await delete_run_details(context, details.run_id, member.id)  # taken back at once
        log.info("details taken back: member=%s run=%s", member.id, details.run_id)
        return False
    log.info("details sent: member=%s run=%s", member.id, details.run_id)
    return True


async def delete_run_details(context: BotContext, run_id: int, member_id: int | None = None) -> int:
    """The run closed (or one volunteer's place went): its details leave the chats at once."""
    messages = await detail_service.messages_of_run(context.store, run_id, member_id)
    return await delete_tracked(context.bot, context.store, messages) if messages else 0


async def details(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """The Details button: re-send them while the place is the volunteer's."""
    member = context.me
    if member.role is not Role.VOLUNTEER or member.status is not MemberStatus.ACTIVE:
        await deny(update, context)
        return
    if not await answering(update, send_details(context, member, payload.get("assignment", 0))):
        await update.effective_chat.send_message(context.t("The details are not available for this task."))


ACTIONS = {"runs.details": details}
COMMANDS: dict = {}
