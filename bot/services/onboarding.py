"""Invites and registration: the only way in is a single-use, expiring, role-bound code."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import Member, MemberStatus, Role
from bot.services.errors import InviteInvalid, InviteNotNow
from bot.services.pseudonyms import member_pseudonym
from storage.store import Store

# 16 random bytes: 128 bits, comfortably above the 80-bit floor, in Telegram's deep-link alphabet.
CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class NewInvite:
    role: Role
    expires_at: datetime
    code: str = field(repr=False)

    def link(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.code}"


async def create_invite(store: Store, role: Role, *, hours: int, created_by: int | None) -> NewInvite:
    code = secrets.token_urlsafe(16)
    expires_at = store.clock.now() + timedelta(hours=hours)
    async with store.write() as uow:
        invite = await uow.invites.add(code, role, expires_at, created_by)
        await uow.audit.add("invite.created", actor_id=created_by, subject=f"{role.value} invite {invite.id}")
    return NewInvite(role=role, expires_at=expires_at, code=code)


async def register(store: Store, code: str, *, telegram_user_id: int, chat_id: int, language: str,
                   roles: tuple[Role, ...] | None = None) -> Member:
    """Spend the invite and create the member with a fresh pseudonym, in one transaction.

    Raises InviteInvalid for every kind of bad code alike, so a prober learns nothing. `roles`: only
    invites for these roles are taken now (in lockdown, coordinators'); any other stays unspent.
    """
    if not CODE_SHAPE.match(code):
        raise InviteInvalid()
    async with store.write() as uow:
        now = uow.clock.now()
        invite = await uow.invites.usable(code, now)
        if invite is None:
            raise InviteInvalid()
        if roles is not None and invite.role not in roles:
            raise InviteNotNow()
        if not await uow.invites.mark_used(invite.id, now):
            raise InviteInvalid()
        if await uow.members.by_telegram(telegram_user_id) is not None:
            raise InviteInvalid()
        pseudonym = member_pseudonym()
        while await uow.members.pseudonym_taken(pseudonym):
            pseudonym = member_pseudonym()
        # Volunteers must still choose an area and days; everyone else can start at once.
        status = MemberStatus.PENDING if invite.role is Role.VOLUNTEER else MemberStatus.ACTIVE
        member = await uow.members.add(
            role=invite.role, status=status, telegram_user_id=telegram_user_id, chat_id=chat_id,
            pseudonym=pseudonym, language=language,
        )
        await uow.audit.add(
            "member.registered", actor_id=member.id, subject=f"{invite.role.value} via invite {invite.id}"
        )
    return member
