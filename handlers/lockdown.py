"""/lockdown and /lockdown off (coordinators)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update

from bot.services import lockdown as lockdown_service
from handlers.cleanup import delete_tracked
from handlers.context import BotContext
from handlers.notify import send_held, tell_coordinators
from handlers.ui import reply

log = logging.getLogger(__name__)


async def lockdown(update: Update, context: BotContext) -> None:
    """Stop serving everyone but coordinators and delete every tracked message; `off` restores service."""
    t = context.t
    if not context.me.is_coordinator:
        await reply(update, t("I did not understand that. Send /help to see what you can do."))
        return
    turning_on = not (context.args and context.args[0].lower() == "off")
    grace = timedelta(hours=context.runtime.config.checkin_grace_hours)
    messages = await lockdown_service.switch(context.store, context.me, turning_on, checkin_grace=grace)
    context.runtime.extras["lockdown"] = turning_on
    log.warning("lockdown %s by member=%s", "on" if turning_on else "off", context.me.id)
    if not turning_on:
        await tell_coordinators(context, "Service is restored: lockdown is off. Messages held back meanwhile go "
                                "out now: {count}.", count=await lockdown_service.held_waiting(context.store))
        await send_held(context)
        return
    deleted = await delete_tracked(context.bot, context.store, messages)
    await tell_coordinators(context, "Lockdown is on: only coordinators are served. Messages deleted: {count}.",
                            count=deleted)
    if context.runtime.config.lockdown_stops_process:
        # The operator must start the bot and type the passphrase again to bring it back.
        await reply(update, t("The bot is stopping now. It needs the passphrase to start again."))
        # `parcelbot run` registers its stop event here; under run_polling, stop_running does the same.
        context.runtime.extras.get("request_stop", context.application.stop_running)()


COMMANDS = {"lockdown": lockdown}
