""""Message partner" in /myruns: short messages to the other volunteer(s) on the same run, through the bot.

A conversation: after the button, every line the volunteer types goes to their partner, until /cancel,
the place ending, or OPEN_FOR without a line. Each line is treated like the details: it may name a
place or a person, so the typed copy leaves the sender's chat (relayed or not), and the relayed copy
is sent silently under a neutral first line and deleted with the run's details (bot/services/partners.py
says when).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.domain import MemberStatus, Role
from bot.i18n import N_, translator
from bot.services import details as detail_service
from bot.services import partners as partner_service
from bot.services.errors import DomainError
from handlers import flows
from handlers.context import BotContext
from handlers.limits import within_limit
from handlers.notify import held_back
from handlers.run_details import delete_run_details
from handlers.screens import deny
from handlers.ui import answer_button, delete_typed, reply

log = logging.getLogger(__name__)

FLOW = "partner"
OPEN_FOR = timedelta(minutes=30)
NOT_LIVE = "You can write to your partner only while you hold a place on the task, until its window ends."


def _volunteer(context: BotContext) -> bool:
    return context.me.role is Role.VOLUNTEER and context.me.status is MemberStatus.ACTIVE


async def start(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """The button: check there is someone to write to, then wait for the text."""
    if not _volunteer(context):
        await deny(update, context)
        return
    t = context.t
    try:
        relay = await partner_service.relay(context.store, context.me.id, payload.get("assignment", 0))
    except DomainError:
        await answer_button(update, t(NOT_LIVE))
        return
    if not relay.to:
        await answer_button(update, t("Nobody else holds a place on {code} yet.", code=relay.code))
        return
    await flows.goto(context, FLOW, "text", _open_for(context, payload["assignment"]))
    await reply(update, t("Send a short message for your partner on {code} (up to {limit} characters), or "
                          "/cancel. It is deleted from both chats after the task.", code=relay.code,
                          limit=partner_service.MAX_LENGTH))


def _open_for(context: BotContext, assignment_id: int) -> dict[str, Any]:
    """The conversation stays open for more lines (people write in several), until /cancel, the place
    ending, or OPEN_FOR without a line: then a stray message is not relayed by surprise much later."""
    until = context.runtime.clock.now() + OPEN_FOR
    return {"assignment": assignment_id, "until": until.isoformat()}


async def text_step(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    """A typed line: relayed to every partner, then gone from the sender's chat."""
    t = context.t
    # Whatever it says, it leaves this chat: it may name a place or a person (refused or not).
    await delete_typed(update, context.bot)
    if context.runtime.clock.now() >= datetime.fromisoformat(data.get("until", "2000-01-01T00:00:00+00:00")):
        await flows.finish(context)
        await reply(update, t("That conversation has ended; your message was not sent. Press Message partner in "
                              "/myruns to write again."))
        return
    if len(text) > partner_service.MAX_LENGTH:
        await reply(update, t("Please keep it under {limit} characters, or send /cancel to stop.",
                              limit=partner_service.MAX_LENGTH))
        return
    if not await within_limit(update, context, "partner_message"):
        return
    try:  # read again: the place, or the partner's, may have gone while the member typed
        relay = await partner_service.relay(context.store, context.me.id, data.get("assignment", 0))
    except DomainError:
        await flows.finish(context)
        await reply(update, t(NOT_LIVE))
        return
    if not relay.to:
        await flows.finish(context)
        await reply(update, t("Nobody else holds a place on {code} now; your message was not sent.", code=relay.code))
        return
    await flows.goto(context, FLOW, "text", _open_for(context, data["assignment"]))
    await partner_service.audit(context.store, context.me.id, relay.code)
    sent = 0
    for partner in relay.to:
        sent += await _relay_to(context, relay, partner, text)
    log.info("partner message relayed: member=%s run=%s partners=%s sent=%s", context.me.id, relay.run_id,
             len(relay.to), sent)
    if sent:
        await reply(update, t("Sent to your partner on {code}. Write more, or send /cancel when you are done.",
                              code=relay.code))
    else:
        await reply(update, t("Your partner could not be reached. Try again later, or ask a coordinator."))


async def _relay_to(context: BotContext, relay: partner_service.Relay, partner: partner_service.Partner,
                    text: str) -> bool:
    member = partner.member
    if held_back(context, member):
        return False
    heading = translator(member.language)("Message from your partner on {code}, {name}:", code=relay.code,
                                          name=relay.sender)
    try:
        # Silent, like the details: it was not asked for, and it may carry them (protect_content is the default).
        message = await context.bot.send_message(member.chat_id, f"{heading}\n{text}", disable_notification=True)
    except TelegramError as error:
        log.warning("partner message not sent: member=%s error=%s", member.id, type(error).__name__)
        return False
    await partner_service.track(context.store, relay, partner, message.message_id)
    if not await detail_service.still_shown(context.store, member.id, partner.assignment_id):
        await delete_run_details(context, relay.run_id, member.id)  # their place went meanwhile: taken back
        return False
    return True


ACTIONS = {"runs.partner": start}
COMMANDS: dict = {}
FLOWS = {FLOW: {"text": text_step}}
FLOW_ROLES = {FLOW: (Role.VOLUNTEER,)}
FLOW_CANCELLED = {FLOW: N_("Done: the conversation with your partner is closed.")}
