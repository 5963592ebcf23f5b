"""Per-member limits on what a member can do many times over (lists, claims, partner messages).

Going over gets a short "slow down"; going far over (bot/services/limits.py: the anomaly factor) also
tells coordinators once per window, naming the member by pseudonym: a scraper or a stolen phone working
through the lists looks like this.
"""

from __future__ import annotations

from telegram import Update

from bot.i18n import N_
from bot.services.limits import Verdict
from handlers.context import BotContext
from handlers.notify import tell_coordinators
from handlers.ui import reply

ANOMALY_ALERTS = {
    "list_view": N_("Unusual activity: {pseudonym} opened very many lists."),
    "claim": N_("Unusual activity: {pseudonym} tried to claim very many tasks."),
    "partner_message": N_("Unusual activity: {pseudonym} sent very many messages to a partner."),
}


async def within_limit(update: Update, context: BotContext, kind: str) -> bool:
    """Count one `kind` for the member; False (and the member told to slow down) when over the limit."""
    verdict = context.runtime.limiter.hit(context.me.id, kind)
    if verdict is Verdict.OK:
        return True
    if verdict is Verdict.ANOMALY:
        await tell_coordinators(context, ANOMALY_ALERTS[kind], pseudonym=context.me.pseudonym)
    await reply(update, context.t("Please slow down and try again later."))
    return False
