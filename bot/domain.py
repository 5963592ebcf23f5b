"""The domain model: plain frozen values, no Telegram, no SQL, no crypto.

Repositories turn sealed rows into these objects and back. Fields that carry names, text, places or
chat ids use `repr=False` so a stray log of an object never prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"
    FAMILY = "family"


class MemberStatus(StrEnum):
    PENDING = "pending"  # registered, profile not finished
    ACTIVE = "active"
    FROZEN = "frozen"
    REVOKED = "revoked"


class FacilityKind(StrEnum):
    SIZO = "sizo"
    TSIP_IVS = "tsip_ivs"
    COLONY = "colony"
    OPEN_INSTITUTION = "open_institution"
    HOUSE_ARREST = "house_arrest"
    OTHER = "other"


class PrisonerStatus(StrEnum):
    PRE_TRIAL = "pre_trial"
    SENTENCED = "sentenced"
    TRANSFERRED = "transferred"
    RELEASED = "released"


class NeedCategory(StrEnum):
    FOOD = "food"
    HYGIENE = "hygiene"
    VITAMINS = "vitamins"
    MEDICINE = "medicine"
    CLOTHES = "clothes"
    MONEY = "money"
    OTHER = "other"

    @property
    def weighed(self) -> bool:
        """Money is paid into the prison account, not carried in the parcel: it weighs nothing and
        uses none of the month's kilograms."""
        return self is not NeedCategory.MONEY


def carries_goods(categories: tuple[str, ...] | frozenset[str]) -> bool:
    """Whether a parcel of these categories goes through the counter (and counts as one of the
    year's parcels), or is only money paid into the prison account. Unknown categories are goods."""
    return not categories or any(category != NeedCategory.MONEY for category in categories)


class NeedStatus(StrEnum):
    OPEN = "open"
    PLANNED = "planned"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class RequestStatus(StrEnum):
    WAITING = "waiting"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class RunStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AssignmentStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"  # trial volunteer: details wait for a coordinator
    CLAIMED = "claimed"
    CONFIRMED = "confirmed"
    REPORTED = "reported"
    RELEASED = "released"
    MISSED = "missed"  # no check-in by the deadline


class ParcelOutcome(StrEnum):
    DELIVERED = "delivered"
    PARTLY = "partly"
    REFUSED = "refused"
    NOT_GONE = "not_gone"


@dataclass(frozen=True)
class Member:
    id: int
    role: Role
    status: MemberStatus
    pseudonym: str
    language: str
    created_at: datetime
    chat_id: int = field(repr=False)
    area_ids: tuple[int, ...] = field(default=(), repr=False)
    weekdays: tuple[int, ...] = field(default=(), repr=False)  # 0 = Monday
    trusted: bool = False
    runs_done: int = 0
    missed_checkins: int = 0
    unreachable: bool = False
    last_active_on: date | None = None

    @property
    def is_coordinator(self) -> bool:
        return self.role is Role.COORDINATOR

    @property
    def usable(self) -> bool:
        return self.status in (MemberStatus.ACTIVE, MemberStatus.PENDING)

    def on_trial(self, trial_runs: int) -> bool:
        """A volunteer whose claims wait for a coordinator: not marked trusted, and fewer than
        `trial_runs` runs delivered (config `trial_runs`)."""
        return not self.trusted and self.runs_done < trial_runs


@dataclass(frozen=True)
class Invite:
    id: int
    role: Role
    created_at: datetime
    expires_at: datetime
    created_by: int | None
    used_at: datetime | None = None


@dataclass(frozen=True)
class Area:
    id: int
    name: str


@dataclass(frozen=True)
class HandoverWindow:
    weekday: int  # 0 = Monday
    start: str  # "09:00"
    end: str  # "13:00"


@dataclass(frozen=True)
class FacilityRules:
    """Parcel rules as a coordinator maintains them; None means unknown, not unlimited by design."""

    windows: tuple[HandoverWindow, ...] = ()
    kg_per_month: float | None = None
    parcels_per_year: int | None = None
    parcels_per_year_by_regime: dict[str, int] = field(default_factory=dict)
    refused_categories: tuple[str, ...] = ()
    goods_parcel_only_categories: tuple[str, ...] = ()
    relatives_only: bool = False
    passport_recorded: bool = False
    notes: str = ""
    confirmed_on: date | None = None
    verify_locally: bool = False


@dataclass(frozen=True)
class Facility:
    id: int
    kind: FacilityKind
    area_id: int | None
    name: str = field(repr=False)
    address: str = field(repr=False)
    rules: FacilityRules = field(repr=False)
    places: int = 1  # volunteer places per run (1 or 2); the planner reads it


@dataclass(frozen=True)
class FacilityRefusal:
    """A volunteer's report that the counter refused something: a dated log a coordinator can act on."""

    id: int
    facility_id: int
    reported_on: date
    reason: str
    note: str = field(default="", repr=False)
    turned_into_rule: bool = False


@dataclass(frozen=True)
class Transfer:
    prisoner_id: int
    from_facility_id: int | None
    to_facility_id: int | None
    moved_on: date


@dataclass(frozen=True)
class Prisoner:
    id: int
    alias: str
    facility_id: int | None
    status: PrisonerStatus
    full_name: str = field(repr=False)
    birth_year: int = field(repr=False)
    regime: str = field(default="", repr=False)
    suspended_until: date | None = None
    notes: str = field(default="", repr=False)
    last_parcel_on: date | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Need:
    id: int
    prisoner_id: int
    category: NeedCategory
    status: NeedStatus
    urgency: Urgency
    weight_g: int
    created_at: datetime
    details: str = field(default="", repr=False)
    due_on: date | None = None
    request_id: int | None = None


@dataclass(frozen=True)
class RequestDetails:
    """What a family typed; sealed as one value."""

    full_name: str = field(repr=False)
    birth_year: int = field(repr=False)
    facility_id: int | None = None
    facility_other: str = field(default="", repr=False)
    categories: tuple[str, ...] = ()
    text: str = field(default="", repr=False)
    urgency: Urgency = Urgency.NORMAL


@dataclass(frozen=True)
class FamilyRequest:
    id: int
    member_id: int | None
    status: RequestStatus
    created_at: datetime
    details: RequestDetails = field(repr=False)
    prisoner_id: int | None = None
    decline_reason: str = ""
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Run:
    id: int
    code: str  # neutral, e.g. "R-4K7Q"; safe in announcements
    facility_id: int
    window_start: datetime
    window_end: datetime
    places: int
    status: RunStatus
    created_at: datetime
    published_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Parcel:
    id: int
    run_id: int
    prisoner_id: int
    weight_g: int
    categories: tuple[str, ...]
    contents: tuple[str, ...] = field(default=(), repr=False)
    need_ids: tuple[int, ...] = ()
    outcome: ParcelOutcome | None = None
    outcome_reason: str = ""
    outcome_note: str = field(default="", repr=False)


@dataclass(frozen=True)
class Assignment:
    id: int
    run_id: int
    member_id: int
    status: AssignmentStatus
    claimed_at: datetime
    confirmed_at: datetime | None = None
    checked_in_at: datetime | None = None


@dataclass(frozen=True)
class TrackedMessage:
    """A bot message that must be deleted later (details, alerts); chat and message ids are sealed."""

    id: int
    member_id: int | None
    kind: str
    sent_at: datetime
    delete_after: datetime
    chat_id: int = field(repr=False)
    message_id: int = field(repr=False)
    run_id: int | None = None


@dataclass(frozen=True)
class HeldNotice:
    """A notice a lockdown held back, to send once it is lifted; message and values are sealed."""

    id: int
    member_id: int
    held_at: datetime
    message: str = field(repr=False)  # the msgid, translated into the member's language when sent
    values: dict[str, Any] = field(repr=False, default_factory=dict)
    silent: bool = False
    run_id: int | None = None  # the run it is about: moot once that run's window has passed


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    actor_id: int | None
    subject: str = field(default="", repr=False)


class RefusalReason(StrEnum):
    ALLOWANCE_USED = "allowance_used"
    TRANSFERRED = "transferred"
    RELEASED = "released"
    ITEM_NOT_ALLOWED = "item_not_allowed"
    OTHER = "other"


@dataclass(frozen=True)
class Allowance:
    """What a prisoner may still receive on `on`, computed by bot/services/ledger.py from the rules in
    force and the delivered parcels. None in a limit means the rule is unknown (no limit applied)."""

    on: date
    kg_left_month: float | None = None
    parcels_left_year: int | None = None
    suspended_until: date | None = None
    refused_categories: frozenset[str] = frozenset()
    goods_only_categories: frozenset[str] = frozenset()  # e.g. pads at IK-4: only in the goods parcel
    next_allowed_on: date | None = None  # earliest date a parcel may go when nothing is left now

    def refusal(self, weight_g: int, categories: tuple[str, ...] | frozenset[str], on: date | None = None
                ) -> str | None:
        """None if a parcel of this weight and these categories fits; otherwise a reason code:
        "suspended", "refused_category", "goods_parcel_only", "no_parcels_left", "no_weight_left"."""
        day = on or self.on
        if self.suspended_until is not None and day <= self.suspended_until:
            return "suspended"
        if self.refused_categories.intersection(categories):
            return "refused_category"
        if self.goods_only_categories.intersection(categories):
            return "goods_parcel_only"
        if not carries_goods(categories):  # only money paid in: not a parcel, no kilograms
            return None
        if self.parcels_left_year is not None and self.parcels_left_year <= 0:
            return "no_parcels_left"
        if self.kg_left_month is not None and weight_g > round(self.kg_left_month * 1000):
            return "no_weight_left"
        return None
