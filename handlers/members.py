"""Members: profile, language, areas, the coordinators' member list and audit, panic and forget-me."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.domain import MemberStatus, Role
from bot.i18n import N_, format_day, format_time, weekday_name
from bot.services import membership
from bot.services.buttons import Choice
from bot.services.errors import LastCoordinator, NotAllowed, NotFound
from handlers import flows
from handlers.buttons import keyboard_for
from handlers.cleanup import clear_chat, delete_in_chat, delete_tracked
from handlers.commands_menu import clear_menu, update_menu
from handlers.context import BotContext
from handlers.limits import within_limit
from handlers.notify import tell_coordinators
from handlers.screens import deny, page_of, page_turns, show
from handlers.ui import answer_button, answering, reply

LANGUAGE_LABELS = (("en", "English"), ("ru", "Русский"), ("be", "Беларуская"))
PAGE_SIZE = 8
UNKNOWN = N_("I did not understand that. Send /help to see what you can do.")


# Profile ---------------------------------------------------------------------------------------------


async def profile(update: Update, context: BotContext) -> None:
    """Volunteers choose their areas, then their weekdays, all by buttons."""
    member = context.me
    if member.role is not Role.VOLUNTEER:
        await reply(update, context.t(UNKNOWN))
        return
    if not await membership.list_areas(context.store):
        await reply(update, context.t("There are no areas yet. A coordinator adds them with /areas."))
        return
    data = {"areas": list(member.area_ids), "days": list(member.weekdays)}
    await flows.goto(context, "profile", "choose", data)
    await _profile_areas(update, context, data)


async def _profile_areas(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    areas = await membership.list_areas(context.store)
    rows = [[Choice(("✓ " if area.id in data["areas"] else "") + area.name, "profile.area", {"area": area.id})]
            for area in areas]
    rows.append([Choice(t("Next"), "profile.next", {})])
    await show(update, context, t("Where can you go? Tap your areas, then Next. Send /cancel to stop."), rows,
               edit=True)


async def _profile_days(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    t = context.t
    rows = [[Choice(("✓ " if day in data["days"] else "") + weekday_name(day, t.language), "profile.day", {"day": day})
             for day in range(start, min(start + 4, 7))] for start in (0, 4)]
    rows.append([Choice(t("Save"), "profile.save", {})])
    await show(update, context, t("Which days can you go? Tap them, then Save."), rows, edit=True)


async def _profile_state(update: Update, context: BotContext) -> dict[str, Any] | None:
    state = await flows.current(context)
    if state is None or state[0] != "profile" or context.me.role is not Role.VOLUNTEER:
        await deny(update, context)
        return None
    return state[2]


async def profile_toggle_area(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _profile_state(update, context)
    if data is None:
        return
    area = payload["area"]
    data["areas"] = [a for a in data["areas"] if a != area] if area in data["areas"] else [*data["areas"], area]
    await flows.goto(context, "profile", "choose", data)
    await _profile_areas(update, context, data)


async def profile_next(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _profile_state(update, context)
    if data is None:
        return
    if not data["areas"]:
        await answer_button(update, context.t("Choose at least one area."))
        await _profile_areas(update, context, data)
        return
    await _profile_days(update, context, data)


async def profile_toggle_day(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _profile_state(update, context)
    if data is None:
        return
    day = payload["day"]
    data["days"] = [d for d in data["days"] if d != day] if day in data["days"] else [*data["days"], day]
    await flows.goto(context, "profile", "choose", data)
    await _profile_days(update, context, data)


async def profile_save(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    data = await _profile_state(update, context)
    if data is None:
        return
    if not data["days"]:
        await answer_button(update, context.t("Choose at least one day."))
        await _profile_days(update, context, data)
        return
    try:
        member = await membership.save_profile(context.store, context.me, tuple(data["areas"]), tuple(data["days"]))
    except (NotAllowed, NotFound):
        await flows.finish(context)
        await reply(update, context.t("That area no longer exists. Send /profile to choose again."))
        return
    await flows.finish(context)
    t = context.t
    days = ", ".join(weekday_name(day, t.language) for day in member.weekdays)
    await reply(update, t("Saved. You can go on: {days}. Send /help to see what you can do.", days=days))
    await update_menu(context.bot, member)  # a finished profile opens the volunteer's other commands


# Language --------------------------------------------------------------------------------------------


async def language(update: Update, context: BotContext) -> None:
    rows = [[Choice(label, "language.set", {"language": code}) for code, label in LANGUAGE_LABELS]]
    await reply(update, context.t("Choose your language."), await keyboard_for(context, rows))


async def language_set(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    await membership.set_language(context.store, context.me, payload["language"])
    context.member = await _reload(context)
    await reply(update, context.t("Done. I will speak this language from now on."))
    await update_menu(context.bot, context.member)


async def _reload(context: BotContext):
    return await _member(context, context.me.id)


async def _member(context: BotContext, member_id: int):
    async with context.store.read() as uow:
        return await uow.members.get(member_id)


async def _update_menu_of(context: BotContext, member_id: int) -> None:
    member = await _member(context, member_id)
    if member is not None:
        await update_menu(context.bot, member)


# Areas (coordinators) --------------------------------------------------------------------------------


async def areas(update: Update, context: BotContext) -> None:
    if not context.me.is_coordinator:
        await reply(update, context.t(UNKNOWN))
        return
    t = context.t
    names = [area.name for area in await membership.list_areas(context.store)]
    text = t("Areas: {names}", names=", ".join(names)) if names else t("There are no areas yet.")
    rows = [[Choice(t("Add an area"), "areas.add", {})]]
    await reply(update, text, await keyboard_for(context, rows))


async def areas_add(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    await flows.goto(context, "areas", "name", {})
    await reply(update, context.t("Send the area's name, e.g. Minsk. Send /cancel to stop."))


async def areas_name(update: Update, context: BotContext, data: dict[str, Any], text: str) -> None:
    try:
        area = await membership.add_area(context.store, context.me, text)
    except ValueError:
        await reply(update, context.t("Please send a name of 2 to 40 characters, or /cancel."))
        return
    await flows.finish(context)
    await reply(update, context.t("Area {name} is on the list.", name=area.name))


# Members list (coordinators) -------------------------------------------------------------------------


def _member_line(t, view: membership.MemberView, trial_runs: int) -> str:
    member = view.member
    parts = [t(member.status.value), member.pseudonym, t(member.role.value)]
    if member.role is Role.VOLUNTEER:
        parts.append(t("on trial") if member.on_trial(trial_runs) else t("trusted"))
        parts.append(", ".join(view.area_names) or t("no area"))
        parts.append(t("runs {done}, missed check-ins {missed}", done=member.runs_done,
                       missed=member.missed_checkins))
    last = format_day(member.last_active_on, t.language) if member.last_active_on else "—"
    parts.append(t("last active {day}", day=last))
    if member.unreachable:
        parts.append(t("unreachable"))
    return " · ".join(parts)


async def volunteers(update: Update, context: BotContext) -> None:
    """Coordinators: every member by pseudonym with status, role, trust, area, activity and counts."""
    if not context.me.is_coordinator:
        await reply(update, context.t(UNKNOWN))
        return
    if not await within_limit(update, context, "list_view"):
        return
    await _volunteers_page(update, context, 0)


async def _volunteers_page(update: Update, context: BotContext, page: int) -> None:
    t = context.t
    views = await membership.member_views(context.store, context.me)
    chunk, page, pages = page_of(views, page, PAGE_SIZE)
    lines = [t("Members ({count}), page {page} of {pages}:", count=len(views), page=page + 1, pages=pages)]
    lines += [_member_line(t, view, context.runtime.config.trial_runs) for view in chunk]
    rows = [[Choice(view.member.pseudonym, "member.open", {"id": view.member.id}, single_use=False)]
            for view in chunk if view.member.id != context.me.id]
    turns = page_turns(t, "members.page", page, pages)
    if turns:
        rows.append(turns)
    await reply(update, "\n".join(lines), await keyboard_for(context, rows))


async def members_page(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    await _volunteers_page(update, context, int(payload["page"]))


async def member_open(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """One member's card with the actions that fit their status."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t = context.t
    try:
        view = await membership.member_view(context.store, context.me, payload["id"])
    except NotFound:
        await answer_button(update, t("This member is no longer here."))
        return
    member = view.member
    target = {"id": member.id}
    actions = []
    trial_runs = context.runtime.config.trial_runs
    if member.role is Role.VOLUNTEER and member.on_trial(trial_runs) and member.status is MemberStatus.ACTIVE:
        actions.append(Choice(t("Trust"), "member.trust", target))
    if member.status in (MemberStatus.ACTIVE, MemberStatus.PENDING):
        actions.append(Choice(t("Freeze"), "member.freeze", target))
    if member.status is MemberStatus.FROZEN:
        actions.append(Choice(t("Reinstate"), "member.reinstate", target))
    actions.append(Choice(t("Revoke"), "member.revoke", target))
    await reply(update, _member_line(t, view, trial_runs), await keyboard_for(context, [actions]))


async def _status_change(update: Update, context: BotContext, change) -> None:
    t = context.t
    try:
        await change()
    except LastCoordinator:
        await reply(update, t("Refused: this is the last active coordinator. Invite another coordinator first."))
    except NotFound:
        await answer_button(update, t("This member is no longer here."))
    except NotAllowed:
        await deny(update, context)


async def member_trust(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    async def change():
        member = await membership.trust(context.store, context.me, payload["id"])
        await reply(update, context.t("{pseudonym} is now trusted.", pseudonym=member.pseudonym))
    await _status_change(update, context, change)


async def member_freeze(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    async def change():
        cleanup = await membership.freeze(context.store, context.me, payload["id"], "coordinator")
        await clear_chat(context.bot, context.store, context.runtime.recent, cleanup.messages, cleanup.chat_id)
        await reply(update, context.t("{pseudonym} is frozen.", pseudonym=cleanup.pseudonym))
        await _update_menu_of(context, payload["id"])
        await _announce_released(context, cleanup)
    await _status_change(update, context, change)


async def member_reinstate(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    async def change():
        member = await membership.reinstate(context.store, context.me, payload["id"])
        await reply(update, context.t("{pseudonym} is active again.", pseudonym=member.pseudonym))
        await update_menu(context.bot, member)
    await _status_change(update, context, change)


async def member_revoke(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    """Ask once before a revoke: it cannot be undone."""
    if not context.me.is_coordinator:
        await deny(update, context)
        return
    t = context.t
    rows = [[Choice(t("Revoke for good"), "member.revoke.confirm", payload), Choice(t("Keep"), "noop", {})]]
    await reply(update, t("Revoke this member? They lose access and their personal data is erased."),
                await keyboard_for(context, rows))


async def member_revoke_confirm(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    async def change():
        cleanup = await membership.revoke(context.store, context.me, payload["id"])
        await clear_chat(context.bot, context.store, context.runtime.recent, cleanup.messages, cleanup.chat_id)
        if cleanup.chat_id:
            await clear_menu(context.bot, cleanup.chat_id)
        await reply(update, context.t("{pseudonym} is revoked.", pseudonym=cleanup.pseudonym))
        await tell_coordinators(context, "{pseudonym} was revoked by {actor}.", pseudonym=cleanup.pseudonym,
                                actor=context.me.pseudonym)
        await _announce_released(context, cleanup)
    await _status_change(update, context, change)


async def _announce_released(context: BotContext, cleanup: membership.Cleanup) -> None:
    if cleanup.released_runs:
        await tell_coordinators(
            context, "{count} claimed task(s) went back to the pool after a change for {pseudonym}.",
            count=len(cleanup.released_runs), pseudonym=cleanup.pseudonym,
        )


async def noop(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    await answer_button(update, context.t("Nothing was changed."))


# Audit ---------------------------------------------------------------------------------------------


# What each audit action reads as in /audit. The entries keep these stable internal names (they are
# data, and older entries must still read); tests/test_journey_members.py checks every action the
# code writes has its words here. An action missing here is shown as it is stored.
AUDIT_ACTIONS = {
    "area.added": N_("added an area"),
    "details.revealed": N_("opened a task's details"),
    "facility.added": N_("added a facility"),
    "facility.edited": N_("changed a facility"),
    "facility.imported": N_("imported facilities"),
    "facility.rule_from_refusal": N_("noted a facility rule from a refusal"),
    "invite.created": N_("made an invite"),
    "lockdown.on": N_("turned the lockdown on"),
    "lockdown.off": N_("lifted the lockdown"),
    "member.activated": N_("finished their profile"),
    "member.frozen.coordinator": N_("froze a member"),
    "member.frozen.missed_checkin": N_("froze a member who missed the check-in"),
    "member.panic": N_("pressed /panic"),
    "member.registered": N_("joined"),
    "member.reinstated": N_("reinstated a member"),
    "member.revoked": N_("revoked a member"),
    "member.trusted": N_("trusted a volunteer"),
    "need.posted": N_("posted a need"),
    "need.fulfilled": N_("closed a need as fulfilled"),
    "need.cancelled": N_("cancelled a need"),
    "parcel.reported": N_("reported a parcel"),
    "partner.messaged": N_("wrote to their partner"),
    "plan.parcel_moved": N_("moved a parcel in the plan"),
    "plan.runs_merged": N_("merged two tasks in the plan"),
    "plan.undropped": N_("put a dropped task's parcels back in the plan"),
    "prisoner.added": N_("added a prisoner"),
    "prisoner.edited": N_("changed a prisoner's card"),
    "prisoner.released": N_("marked a prisoner released"),
    "prisoner.transferred": N_("recorded a transfer"),
    "prisoner.viewed": N_("opened a prisoner's card"),
    "request.accepted": N_("accepted a family's request"),
    "request.declined": N_("declined a family's request"),
    "request.linked": N_("linked a family's request to a prisoner"),
    "request.submitted": N_("sent a request"),
    "request.viewed": N_("opened a family's request"),
    "request.withdrawn": N_("withdrew a request"),
    "retention": N_("erased old records"),
    "run.called_off": N_("called off a task"),
    "run.checked_in": N_("checked in safe"),
    "run.claim_approved": N_("approved a claim"),
    "run.claim_rejected": N_("turned down a claim"),
    "run.claimed": N_("claimed a place"),
    "run.confirmed": N_("confirmed a place"),
    "run.dropped": N_("took a draft out of the plan"),
    "run.released": N_("gave a place back"),
    "run.unconfirmed": N_("offered again a place not confirmed in time"),
    "runs.published": N_("published the week's tasks"),
}
# Written by the bot's own scheduled work; the other entries without a member are the operator's.
BOT_ACTIONS = frozenset({"retention", "run.unconfirmed", "member.frozen.missed_checkin"})


def _audit_line(t, line: membership.AuditLine, tz) -> str:
    if line.actor == "operator":
        actor = t("the bot") if line.action in BOT_ACTIONS else t("operator")
    else:
        actor = line.actor or t("former member")
    action = t(AUDIT_ACTIONS[line.action]) if line.action in AUDIT_ACTIONS else line.action
    when = f"{format_day(line.at, t.language, tz)} {format_time(line.at, t.language, tz)}"
    return f"{when} {actor}: {action} {line.subject}".strip()


async def audit(update: Update, context: BotContext) -> None:
    if not context.me.is_coordinator:
        await reply(update, context.t(UNKNOWN))
        return
    if not await within_limit(update, context, "list_view"):
        return
    t = context.t
    tz = context.runtime.config.tz
    lines = await membership.audit_lines(context.store, context.me)
    text = "\n".join([t("Recent activity:")] + [_audit_line(t, line, tz) for line in lines])
    await reply(update, text[:4000])


# Panic and forget-me ----------------------------------------------------------------------------------


async def panic(update: Update, context: BotContext) -> None:
    """One tap: delete the tracked messages (details, cards) and every message of the last 47 hours the
    bot noted in this chat (handlers/recent.py), freeze the account, alert coordinators. The confirmation
    comes after and asks the member to delete the chat too: older messages, or any from before a
    crash of the bot, it cannot find."""
    member = context.me
    cleanup, frozen = await membership.panic(context.store, member)
    # /panic itself is among the recent messages
    await clear_chat(context.bot, context.store, context.runtime.recent, cleanup.messages, cleanup.chat_id)
    if update.message is not None:
        await delete_in_chat(context.bot, update.message.chat_id, update.message.message_id)
    await tell_coordinators(context, "Emergency: {pseudonym} pressed panic. Their account is frozen."
                            if frozen else "Emergency: {pseudonym} pressed panic.", pseudonym=cleanup.pseudonym)
    t = context.t
    if frozen:
        await clear_menu(context.bot, member.chat_id)
        await update.effective_chat.send_message(
            t("Done. Your account is paused and the bot deleted what it could here. Delete this chat in "
              "Telegram too.")
        )
    else:
        await update.effective_chat.send_message(
            t("Done. The bot deleted what it could here. You are the last coordinator, so your account stays "
              "active. Delete this chat in Telegram too.")
        )


async def forgetme(update: Update, context: BotContext) -> None:
    t = context.t
    rows = [[Choice(t("Erase everything"), "forget.confirm", {}), Choice(t("Keep my account"), "noop", {})]]
    await reply(update, t("Erase your account and everything the bot keeps about you? This cannot be undone."),
                await keyboard_for(context, rows))


async def forget_confirm(update: Update, context: BotContext, payload: dict[str, Any]) -> None:
    t = context.t
    member = context.me
    try:
        cleanup = await membership.forget(context.store, member)
    except LastCoordinator:
        await reply(update, t("Refused: you are the last active coordinator. Invite another coordinator first."))
        return
    await delete_tracked(context.bot, context.store, cleanup.messages)
    await clear_menu(context.bot, member.chat_id)
    await answering(update, update.effective_chat.send_message(t("Done. Everything about you is erased. Goodbye.")))
    # Their chat's message ids too (noted up to the goodbye): a clean stop would keep them, sealed.
    context.runtime.recent.forget(member.chat_id)
    if member.role is not Role.FAMILY or cleanup.released_runs:
        await tell_coordinators(context, "A member left and their data was erased.")


COMMANDS = {
    "profile": profile,
    "language": language,
    "areas": areas,
    "volunteers": volunteers,
    "audit": audit,
    "panic": panic,
    "forgetme": forgetme,
}
ACTIONS = {
    "profile.area": profile_toggle_area,
    "profile.next": profile_next,
    "profile.day": profile_toggle_day,
    "profile.save": profile_save,
    "language.set": language_set,
    "areas.add": areas_add,
    "members.page": members_page,
    "member.open": member_open,
    "member.trust": member_trust,
    "member.freeze": member_freeze,
    "member.reinstate": member_reinstate,
    "member.revoke": member_revoke,
    "member.revoke.confirm": member_revoke_confirm,
    "forget.confirm": forget_confirm,
    "noop": noop,
}
FLOWS = {"areas": {"name": areas_name}}
FLOW_ROLES = {"areas": (Role.COORDINATOR,)}
