"""Messages the bot starts itself (alerts, notices): each in the recipient's language, neutral first line."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.domain import Member, MemberStatus, Role
from bot.i18n import translator
from handlers.context import BotContext

log = logging.getLogger(__name__)


def held_back(context: BotContext, member: Member) -> bool:
    """Who must hear nothing from the bot now. A frozen or revoked member: whoever holds their phone
    learns nothing more (callers filter already; this is the last check). In lockdown, everyone but
    coordinators: not even what a coordinator's own action (an approval, a run called off, a family's
    request answered) would tell them, until it is lifted (`send_to_member` keeps such notices)."""
    if not member.usable:
        log.info("message held back, member not active: member=%s", member.id)
        return True
    if in_lockdown(context) and not member.is_coordinator:
        log.info("message held back in lockdown: member=%s", member.id)
        return True
    return False


def in_lockdown(context: BotContext) -> bool:
    """The one place that reads the switch (/lockdown sets it, start-up reads it from the database)."""
    return bool(context.runtime.extras.get("lockdown"))


async def send_to_member(context: BotContext, member: Member, message: str, /, *, silent: bool = False,
                         about_run: int | None = None, keep: bool = True, **values: object) -> int | None:
    """Send one translated message; returns the Telegram message id, or None if it could not go.

    A 403 means the member blocked the bot: recorded as unreachable so coordinators can see it.
    During a lockdown the notice is kept, sealed, and sent once it is lifted (`send_held`), unless
    `keep` is False (an announcement: /runs shows the runs anyway). `about_run` names the run it
    concerns: once that run's window has passed, a kept notice is moot and is not sent.
    """
    if held_back(context, member):
        if member.usable and keep:  # held back by the lockdown alone
            async with context.store.write_one() as uow:
                await uow.notices.hold(member.id, message, values, silent=silent, run_id=about_run)
        return None
    text = translator(member.language)(message, **values)
    try:
        sent = await _send_with_retries(context, member.chat_id, text, silent)
    except Forbidden:
        async with context.store.write() as uow:
            await uow.members.set_unreachable(member.id, True)
        log.warning("member unreachable: member=%s", member.id)
        return None
    except TelegramError as error:
        log.warning("send failed: member=%s error=%s", member.id, type(error).__name__)
        return None
    return sent.message_id


RETRY_DELAYS = (0.2, 1.0, 3.0)  # seconds; short, because a job round or a person is waiting
MAX_RETRY_AFTER = 30


async def _send_with_retries(context: BotContext, chat_id: int, text: str, silent: bool):
    """Telegram's 5xx, timeouts and 429 are passing: retry a few times. 400/403 are final."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            return await context.bot.send_message(chat_id, text, disable_notification=silent)
        except (Forbidden, BadRequest):
            raise
        except RetryAfter as error:
            wait = error.retry_after.total_seconds() if hasattr(error.retry_after, "total_seconds") \
                else float(error.retry_after)
            if delay is None or wait > MAX_RETRY_AFTER:
                raise
            await asyncio.sleep(wait)
        except NetworkError:
            if delay is None:
                raise
            log.info("send retry %s after %s", attempt + 1, "network error")
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


HELD_BATCH = 100


async def send_held(context: BotContext) -> int:
    """The notices a lockdown held back, oldest first, once it is lifted; returns how many went out.

    Each batch is deleted in the transaction that reads it, before its messages go: a crash loses a
    notice, never repeats one (as with scheduled sends, schedules/jobs.py). Each member is read again
    at sending: one frozen or revoked meanwhile hears nothing, a notice about a run whose window has
    passed (or that is gone) is dropped, and a lockdown begun again keeps the rest for its end."""
    sent = 0
    while not in_lockdown(context):
        async with context.store.read() as uow:
            if not await uow.notices.waiting():
                break
        async with context.store.write() as uow:
            notices = await uow.notices.take(HELD_BATCH)
            members = await uow.members.many(notice.member_id for notice in notices)
            runs = {run.id: run for run in await uow.runs.list_by_ids(
                {notice.run_id for notice in notices if notice.run_id is not None})}
            now = uow.clock.now()
        for notice in notices:
            member = members.get(notice.member_id)
            run = runs.get(notice.run_id) if notice.run_id is not None else None
            if member is None or (notice.run_id is not None and (run is None or run.window_end <= now)):
                continue
            if await send_to_member(context, member, notice.message, silent=notice.silent, about_run=notice.run_id,
                                    **notice.values) is not None:
                sent += 1
    if sent:
        log.info("held notices sent: count=%s", sent)
    return sent


async def tell_coordinators(context: BotContext, message: str, /, **values: object) -> None:
    async with context.store.read() as uow:
        coordinators = await uow.members.list(role=Role.COORDINATOR, statuses=(MemberStatus.ACTIVE,))
    for coordinator in coordinators:
        await send_to_member(context, coordinator, message, **values)
