"""Which commands each role has: one table for /help and for Telegram's command menu."""

from __future__ import annotations

from bot.domain import Member, MemberStatus, Role
from bot.i18n import N_, Translator

C, V, F = Role.COORDINATOR, Role.VOLUNTEER, Role.FAMILY
ALL = (C, V, F)

# (command, description, roles): one line per command, in the order /help and the menu show them.
# Descriptions are message ids for the translator, marked with N_ for extraction.
MENU: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("profile", N_("Your areas and the days you can go"), (V,)),
    ("runs", N_("Open tasks you can take"), (V,)),
    ("myruns", N_("Your tasks"), (V,)),
    ("invite", N_("Invite a new member"), (C,)),
    ("volunteers", N_("Members and their status"), (C,)),
    ("areas", N_("The list of areas"), (C,)),
    ("audit", N_("Recent activity"), (C,)),
    ("requests", N_("Family requests waiting for review"), (C,)),
    ("needs", N_("Open needs; post a need"), (C,)),
    ("prisoners", N_("People we support, by alias"), (C,)),
    ("facilities", N_("Facilities and their parcel rules"), (C,)),
    ("plan", N_("Plan next week's runs and publish them"), (C,)),
    ("board", N_("This week's runs: missed check-ins and gaps first"), (C,)),
    ("report", N_("The week in figures and a chart"), (C,)),
    ("request", N_("Ask for support for your relative"), (F,)),
    ("status", N_("How your requests are going"), (F,)),
    ("lockdown", N_("Emergency: serve only coordinators (/lockdown off to end)"), (C,)),
    ("language", N_("Change the language"), ALL),
    ("help", N_("What you can do here"), ALL),
    ("cancel", N_("Stop what you are doing"), ALL),
    ("panic", N_("Emergency: clear this chat and pause your account"), ALL),
    ("forgetme", N_("Erase your account"), ALL),
)
# A volunteer who has not finished the profile may use only these.
PENDING_ALLOWED = ("profile", "language", "help", "cancel", "panic", "forgetme", "start")

COMMANDS: dict[Role, tuple[tuple[str, str], ...]] = {
    role: tuple((command, description) for command, description, roles in MENU if role in roles) for role in ALL
}

INTRO = {
    Role.COORDINATOR: N_("You are a coordinator: you invite members, keep the lists and plan the week."),
    Role.VOLUNTEER: N_("You are a volunteer: you take tasks and report back after each one."),
    Role.FAMILY: N_("You can ask for support for your relative and see how it goes."),
}


def commands_for(member: Member) -> tuple[tuple[str, str], ...]:
    if member.status is MemberStatus.PENDING and member.role is Role.VOLUNTEER:
        return tuple(item for item in COMMANDS[member.role] if item[0] in PENDING_ALLOWED)
    return COMMANDS[member.role]


def help_text(member: Member, t: Translator) -> str:
    lines = [t("You are {pseudonym}.", pseudonym=member.pseudonym), t(INTRO[member.role]), ""]
    lines += [f"/{command} — {t(description)}" for command, description in commands_for(member)]
    return "\n".join(lines)
