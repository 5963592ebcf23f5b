"""Which commands each role has: one table for /help and for Telegram's command menu."""

from __future__ import annotations

from bot.domain import Member, MemberStatus, Role
from bot.i18n import Translator

# (command, description) per role; descriptions are message ids for the translator.
COMMANDS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.COORDINATOR: (
        ("invite", "Invite a new member"),
        ("help", "What you can do here"),
        ("cancel", "Stop what you are doing"),
    ),
    Role.VOLUNTEER: (
        ("help", "What you can do here"),
        ("cancel", "Stop what you are doing"),
    ),
    Role.FAMILY: (
        ("help", "What you can do here"),
        ("cancel", "Stop what you are doing"),
    ),
}

INTRO = {
    Role.COORDINATOR: "You are a coordinator: you invite members, keep the lists and plan the week.",
    Role.VOLUNTEER: "You are a volunteer: you take tasks and report back after each one.",
    Role.FAMILY: "You can ask for support for your relative and see how it goes.",
}


def commands_for(member: Member) -> tuple[tuple[str, str], ...]:
    if member.status is MemberStatus.PENDING and member.role is Role.VOLUNTEER:
        return tuple(item for item in COMMANDS[member.role] if item[0] in ("profile", "help", "cancel"))
    return COMMANDS[member.role]


def help_text(member: Member, t: Translator) -> str:
    lines = [t("You are {pseudonym}.", pseudonym=member.pseudonym), t(INTRO[member.role]), ""]
    lines += [f"/{command} — {t(description)}" for command, description in commands_for(member)]
    return "\n".join(lines)
