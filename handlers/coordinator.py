"""Coordinators' commands."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain import Role
from bot.i18n import N_
from bot.services import onboarding
from bot.services.buttons import Choice
from handlers.buttons import keyboard_for
from handlers.context import BotContext
from handlers.screens import deny
from handlers.ui import reply

ROLE_LABELS = {
    Role.VOLUNTEER: N_("Volunteer"),
    Role.FAMILY: N_("Family"),
    Role.COORDINATOR: N_("Coordinator"),
}


async def require_coordinator(update: Update, context: BotContext) -> bool:
    """Every coordinator handler starts here; others get the same answer as an unknown command."""
    if context.me.is_coordinator:
        return True
    await deny(update, context)
    return False


async def invite(update: Update, context: BotContext) -> None:
    """Ask which role the new member gets."""
    if not await require_coordinator(update, context):
        return
    t = context.t
    rows = [[Choice(t(label), "invite.role", {"role": role.value}) for role, label in ROLE_LABELS.items()]]
    await reply(update, t("Who are you inviting?"), await keyboard_for(context, rows))


async def invite_role(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Create the invite and show its one-time link."""
    if not await require_coordinator(update, context):
        return
    runtime = context.runtime
    role = Role(payload["role"])
    new = await onboarding.create_invite(
        runtime.store, role, hours=runtime.config.invite_hours, created_by=context.me.id
    )
    t = context.t
    await reply(
        update,
        t("One-time invite for a {role}, valid for {hours} hours. Pass it on privately:\n{link}",
          role=t(ROLE_LABELS[role]).lower(), hours=runtime.config.invite_hours,
          link=new.link(runtime.bot_username or "your_bot")),
    )


COMMANDS = {"invite": invite}
ACTIONS = {"invite.role": invite_role}
