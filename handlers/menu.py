"""Which commands each role has: one table for /help and for Telegram's command menu."""

from __future__ import annotations

from bot.domain import Member, MemberStatus, Role
from bot.i18n import Translator

C, V, F = Role.COORDINATOR, Role.VOLUNTEER, Role.FAMILY
ALL = (C, V, F)

# (command, description, roles): one line per command, in the order /help and the menu show them.
# Descriptions are message ids for the translator.
MENU: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("profile", "Your areas and the days you can go", (V,)),
    ("invite", "Invite a new member", (C,)),
    ("volunteers", "Members and their status", (C,)),
    ("areas", "The list of areas", (C,)),
    ("audit", "Recent activity", (C,)),
    ("lockdown", "Emergency: serve only coordinators (/lockdown off to end)", (C,)),
    ("language", "Change the language", ALL),
    ("help", "What you can do here", ALL),
    ("cancel", "Stop what you are doing", ALL),
    ("panic", "Emergency: clear this chat and pause your account", ALL),
    ("forgetme", "Erase your account", ALL),
)
# A volunteer who has not finished the profile may use only these.
PENDING_ALLOWED = ("profile", "language", "help", "cancel", "panic", "forgetme", "start")

COMMANDS: dict[Role, tuple[tuple[str, str], ...]] = {
    role: tuple((command, description) for command, description, roles in MENU if role in roles) for role in ALL
}

INTRO = {
    Role.COORDINATOR: "You are a coordinator: you invite members, keep the lists and plan the week.",
    Role.VOLUNTEER: "You are a volunteer: you take tasks and report back after each one.",
    Role.FAMILY: "You can ask for support for your relative and see how it goes.",
}


def commands_for(member: Member) -> tuple[tuple[str, str], ...]:
    if member.status is MemberStatus.PENDING and member.role is Role.VOLUNTEER:
        return tuple(item for item in COMMANDS[member.role] if item[0] in PENDING_ALLOWED)
    return COMMANDS[member.role]


def help_text(member: Member, t: Translator) -> str:
    lines = [t("You are {pseudonym}.", pseudonym=member.pseudonym), t(INTRO[member.role]), ""]
    lines += [f"/{command} — {t(description)}" for command, description in commands_for(member)]
    return "\n".join(lines)
