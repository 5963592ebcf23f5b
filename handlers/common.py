"""Commands every member has: /start (registration), /help, /cancel, and the fallback reply."""

from __future__ import annotations

from telegram import Update

from bot.domain import MemberStatus, Role
from bot.services import onboarding
from bot.services.errors import InviteInvalid, InviteNotNow
from handlers import flows
from handlers.commands_menu import update_menu
from handlers.context import BotContext
from handlers.gate import turn_away
from handlers.menu import help_text
from handlers.notify import in_lockdown
from handlers.ui import reply


async def start(update: Update, context: BotContext) -> None:
    """Register with an invite code, or greet a member who is already here."""
    if context.member is not None:
        await reply(update, context.t("Welcome back, {pseudonym}. Send /help to see what you can do.",
                                      pseudonym=context.member.pseudonym))
        await update_menu(context.bot, context.member)  # heals a menu an older version left behind
        return
    user = update.effective_user
    runtime = context.runtime
    # Throttle by Telegram user id in memory only: strangers leave no row and no log line.
    if runtime.limiter.blocked(user.id, "bad_code"):
        await turn_away(update, context)
    code = (context.args or [""])[0]
    try:
        member = await onboarding.register(
            runtime.store, code, telegram_user_id=user.id, chat_id=update.effective_chat.id,
            language=context.user_language,
            # In lockdown only coordinators are served, newcomers too; other invites wait unspent.
            roles=(Role.COORDINATOR,) if in_lockdown(context) else None,
        )
    except InviteNotNow:  # a good code, kept for after the lockdown: not counted as a guess
        await turn_away(update, context)
    except InviteInvalid:
        runtime.limiter.hit(user.id, "bad_code")
        await turn_away(update, context)
    context.member = member
    t = context.t
    lines = [t("Welcome. Here you are {pseudonym}; others see only this name.", pseudonym=member.pseudonym)]
    if member.role is Role.VOLUNTEER and member.status is MemberStatus.PENDING:
        lines.append(t("Next, choose your area and the days you can go: send /profile."))
    else:
        lines.append(t("Send /help to see what you can do."))
    await reply(update, "\n".join(lines))
    await update_menu(context.bot, member)


async def help_command(update: Update, context: BotContext) -> None:
    """What this member's role can do, in a few lines."""
    await reply(update, help_text(context.me, context.t))


async def cancel(update: Update, context: BotContext) -> None:
    """Leave any conversation without storing what it gathered."""
    said = await flows.cancel(context)
    await reply(update, context.t(said or "Nothing to cancel. Send /help to see what you can do."))


async def text(update: Update, context: BotContext) -> None:
    """Typed text belongs to the member's current conversation step, if any."""
    if not await flows.route_text(update, context):
        await fallback(update, context)


async def fallback(update: Update, context: BotContext) -> None:
    """Anything no handler took: a short pointer to /help, never an echo of the text."""
    if update.callback_query is not None:
        await update.callback_query.answer(context.t("This button has expired."))
        return
    if update.message is not None:
        await reply(update, context.t("I did not understand that. Send /help to see what you can do."))


COMMANDS = {"start": start, "help": help_command, "cancel": cancel}
