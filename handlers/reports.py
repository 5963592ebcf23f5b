"""/report (coordinators): the last seven days in figures and the 12-week chart; the digest's sender.

Only aggregates reach the chat: counts, area and category names, volunteers' pseudonyms. The chart is
sent as a protected photo (the application's defaults), silently, after the text that notifies.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from time import perf_counter

from telegram import Update
from telegram.error import TelegramError

from bot.domain import Member, MemberStatus, Role
from bot.i18n import Translator, translator
from bot.services import reports as service
from handlers.context import BotContext
from handlers.screens import CATEGORY_LABELS, deny, today
from handlers.ui import reply

log = logging.getLogger(__name__)
CHART_FILENAME = "report.png"


def labels_for(t: Translator) -> service.ChartLabels:
    return service.chart_labels(t, {category: t(label) for category, label in CATEGORY_LABELS.items()})


def digest_text(digest: service.WeeklyDigest, t: Translator) -> str:
    return "\n".join(service.digest_lines(digest, t, t.day))


async def render(figures: service.WeeklyFigures, t: Translator) -> bytes:
    """Off the event loop: matplotlib takes about half a second of CPU."""
    started = perf_counter()
    png = await asyncio.to_thread(service.render_chart, figures, labels_for(t))
    log.info("chart rendered: bytes=%s ms=%.0f", len(png), (perf_counter() - started) * 1000)
    return png


async def report(update: Update, context: BotContext) -> None:
    """The last seven days (today included) as figures, then the chart of the last 12 weeks."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    runtime, t = context.runtime, context.t
    start, end = service.last_days(today(context))
    digest = await service.weekly_digest(context.store, context.me, start, end, runtime.config.tz)
    figures = await service.chart_figures(context.store, context.me, end, runtime.config.tz)
    await reply(update, digest_text(digest, t))
    png = await render(figures, t)
    await context.bot.send_photo(update.effective_chat.id, photo=png, filename=CHART_FILENAME,
                                 disable_notification=True)


async def _deliver(context: BotContext, member: Member, text: str, png: bytes) -> bool:
    try:
        await context.bot.send_message(member.chat_id, text)
        await context.bot.send_photo(member.chat_id, photo=png, filename=CHART_FILENAME, disable_notification=True)
    except TelegramError as error:
        log.warning("digest not delivered: member=%s error=%s", member.id, type(error).__name__)
        return False
    return True


async def send_digest(context: BotContext, day: date) -> int:
    """The digest of the seven days before `day` to every active coordinator, each in their language.

    Also during a lockdown: it goes to coordinators only. Returns how many received it."""
    runtime = context.runtime
    async with runtime.store.read() as uow:
        coordinators = await uow.members.list(role=Role.COORDINATOR, statuses=(MemberStatus.ACTIVE,))
    if not coordinators:
        return 0
    tz = runtime.config.tz
    start, end = service.week_before(day)
    digest = await service.weekly_digest(runtime.store, coordinators[0], start, end, tz)
    figures = await service.chart_figures(runtime.store, coordinators[0], end, tz)
    charts: dict[str, bytes] = {}
    delivered = 0
    for member in coordinators:
        t = translator(member.language)
        if t.language not in charts:
            charts[t.language] = await render(figures, t)
        delivered += await _deliver(context, member, digest_text(digest, t), charts[t.language])
    log.info("weekly digest sent: coordinators=%s", delivered)
    return delivered


COMMANDS = {"report": report}
