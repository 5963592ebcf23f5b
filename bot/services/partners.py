"""Messages between the volunteers of one run ("Message my partner"), relayed by the bot.

Volunteers never see each other's accounts: a message goes through the bot under the sender's pseudonym,
only between members who hold a live place (claimed or confirmed) on the same published run while its
window is open: the rule that decides who may see the run's details (details.live_place), so a trial
volunteer waiting for approval, a place given back or a run called off ends the conversation too.

Nothing of the text is stored. The handler relays it, deletes the typed copy and tracks the relayed
copy for deletion like the details: it goes when the run closes, when the recipient's place goes, on a
panic or a lockdown, and after 47 h at the latest. The audit notes that a message went (who, on which
run), never what it said.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Member, MemberStatus, Role
from bot.services import details
from storage.store import Store

MAX_LENGTH = 500  # short messages: "running ten minutes late", "I have the passport copy"
KIND = details.PARTNER_KIND  # tracked with the run's details, deleted with them


@dataclass(frozen=True)
class Partner:
    member: Member
    assignment_id: int  # their place: once it is not live, what was relayed to them goes (details.still_shown)


@dataclass(frozen=True)
class Relay:
    """Who a message from one place goes to, and under which name."""

    run_id: int
    code: str
    sender: str  # the sender's pseudonym, all the partner learns of them
    to: tuple[Partner, ...]


async def relay(store: Store, member_id: int, assignment_id: int) -> Relay:
    """The other live holders of the run, active volunteers only; NotFound when the sender's own place
    is not live (or not theirs), NotAllowed when the sender is not an active volunteer."""
    async with store.read() as uow:
        _, run = await details.live_place(uow, member_id, assignment_id)
        holders = [assignment for assignment in await uow.runs.assignments_of(run.id, live_only=True)
                   if assignment.status in details.SHOWN]
        members = await uow.members.many(assignment.member_id for assignment in holders)
    to = tuple(Partner(members[holder.member_id], holder.id) for holder in holders
               if holder.member_id != member_id and holder.member_id in members
               and members[holder.member_id].status is MemberStatus.ACTIVE
               and members[holder.member_id].role is Role.VOLUNTEER)
    return Relay(run.id, run.code, members[member_id].pseudonym, to)


async def audit(store: Store, member_id: int, code: str) -> None:
    """Before the message goes, like a details reveal: every relayed message has its entry."""
    async with store.write_one() as uow:
        await uow.audit.add("partner.messaged", actor_id=member_id, subject=code)


async def track(store: Store, relayed: Relay, partner: Partner, message_id: int) -> None:
    async with store.write_one() as uow:  # one INSERT
        await uow.messages.track(member_id=partner.member.id, kind=KIND, chat_id=partner.member.chat_id,
                                 message_id=message_id, delete_after=uow.clock.now() + details.KEEP_FOR,
                                 run_id=relayed.run_id)
