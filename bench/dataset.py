"""The benchmark's data: a realistic deployment generated with a fixed seed, written through the repositories.

40 facilities, 2,000 prisoners, 6,000 open needs, 1,000 volunteers, 300 families and a dozen coordinators.
Every name is invented (Cyrillic and Latin syllables), never a real person's. The store is made with
`Store.create` and a cheaper scrypt cost than production (n=2**14 instead of 2**17) so the many
unlocks of a benchmark run do not dominate it; that cost applies to every unlock and backup measured here.

Rows go in through the same repositories the bot uses (so they are sealed exactly like the bot's own),
in a few large transactions. Next week is then planned and published, so volunteers find open runs;
the time that planning takes is one of the benchmark's figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.domain import (
    AssignmentStatus,
    FacilityKind,
    FacilityRules,
    HandoverWindow,
    MemberStatus,
    NeedCategory,
    PrisonerStatus,
    RequestDetails,
    Role,
    RunStatus,
    Urgency,
)
from bot.services import runs as run_service
from storage.crypto import KdfParams
from storage.store import Store

SEED = 2026
BENCH_KDF = KdfParams(n=2**14, r=8, p=1)
PASSPHRASE = "bench only: correct horse battery staple"  # noqa: S105 - a throwaway benchmark database
TIMEZONE = ZoneInfo("Europe/Minsk")

# Telegram user ids the fake server sends updates from (= private chat ids).
VOLUNTEER_BASE, FAMILY_BASE, COORDINATOR_BASE = 10_000_000, 20_000_000, 30_000_000


@dataclass(frozen=True)
class Scale:
    facilities: int = 40
    prisoners: int = 2_000
    needs: int = 6_000
    volunteers: int = 1_000
    families: int = 300
    coordinators: int = 12
    areas: int = 8
    # Published runs moved to "in progress now", each with one confirmed volunteer, so that reporting
    # (Report, a parcel, Delivered) is played too: next week's runs cannot be reported yet.
    runs_in_progress: int = 50


FULL = Scale()


@dataclass
class Dataset:
    """What the load driver needs to play people: their Telegram ids, by role."""

    path: Path
    scale: Scale
    volunteers: list[int] = field(default_factory=list)  # trusted, active: their claims go straight through
    families: list[int] = field(default_factory=list)
    coordinators: list[int] = field(default_factory=list)
    reporters: list[int] = field(default_factory=list)  # each holds a confirmed place on a run in progress
    runs_published: int = 0
    plan_seconds: float = 0.0
    build_seconds: float = 0.0


_SYLLABLES_LATIN = ("ka", "ro", "mi", "len", "ta", "vo", "sha", "ny", "dor", "li", "za", "be", "ran", "ol", "vi")
_SYLLABLES_CYRILLIC = ("ка", "ро", "мі", "лен", "та", "во", "ша", "ны", "дор", "лі", "за", "бе", "ран", "ол", "ві")
_ADJECTIVES = ("Quiet", "Bright", "Calm", "Gentle", "Brave", "Silver", "Swift", "Warm", "Clear", "Steady")
_NOUNS = ("Birch", "Linden", "Stork", "Heron", "Fern", "River", "Meadow", "Willow", "Oak", "Rowan")
_AREA_NAMES = ("Поўнач", "Поўдзень", "Ўсход", "Захад", "Цэнтр", "Lakeside", "Hillside", "Riverside")


def _word(rng: random.Random, syllables: tuple[str, ...], parts: int) -> str:
    return "".join(rng.choice(syllables) for _ in range(parts)).capitalize()


def invented_name(rng: random.Random) -> str:
    """Two or three invented words, Cyrillic or Latin: looks like a name, belongs to nobody."""
    syllables = _SYLLABLES_CYRILLIC if rng.random() < 0.7 else _SYLLABLES_LATIN
    return " ".join(_word(rng, syllables, rng.randint(2, 3)) for _ in range(rng.choice((2, 3))))


def _rules(rng: random.Random) -> FacilityRules:
    days = sorted(rng.sample(range(6), 2))
    windows = tuple(HandoverWindow(day, f"{rng.randint(8, 10):02d}:00", f"{rng.randint(13, 17):02d}:00")
                    for day in days)
    return FacilityRules(windows=windows, kg_per_month=30.0, parcels_per_year=rng.choice((None, 12, 24)),
                         refused_categories=rng.choice(((), ("clothes",))), passport_recorded=True,
                         notes=f"{_word(rng, _SYLLABLES_CYRILLIC, 4)} {_word(rng, _SYLLABLES_LATIN, 3)}")


async def _runs_in_progress(store: Store, data: Dataset, count: int) -> None:
    """Move `count` published runs to a window open now (started an hour ago), each confirmed by one
    trusted volunteer who then plays the reporter (and no longer claims)."""
    now = store.clock.now()
    async with store.write() as uow:
        runs = (await uow.runs.list(statuses=(RunStatus.PUBLISHED,)))[:count]
        for run, user_id in zip(runs, list(data.volunteers), strict=False):
            member = await uow.members.by_telegram(user_id)
            await uow.session.run("UPDATE runs SET window_start = ?, window_end = ? WHERE id = ?",
                                  (to_db(now - timedelta(hours=1)), to_db(now + timedelta(hours=5)), run.id))
            await uow.runs.add_assignment(run.id, member.id, AssignmentStatus.CONFIRMED)
            data.reporters.append(user_id)
            data.volunteers.remove(user_id)


async def build(path: Path, scale: Scale = FULL, *, plan: bool = True) -> Dataset:
    """Create the database at `path` (which must not exist) and fill it; plan and publish next week."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible dataset, not a secret
    started = time.perf_counter()
    store = await Store.create(path, PASSPHRASE, kdf=BENCH_KDF)
    data = Dataset(path=path, scale=scale)
    try:
        today = store.clock.now().astimezone(TIMEZONE).date()
        async with store.write() as uow:
            areas = [await uow.areas.add(_AREA_NAMES[i % len(_AREA_NAMES)] + ("" if i < 8 else f" {i}"))
                     for i in range(scale.areas)]
            facilities = []
            for i in range(scale.facilities):
                kind = rng.choice((FacilityKind.SIZO, FacilityKind.COLONY, FacilityKind.COLONY,
                                   FacilityKind.TSIP_IVS, FacilityKind.OPEN_INSTITUTION))
                facilities.append(await uow.facilities.add(
                    kind=kind, name=f"{kind.value.upper()}-{i + 1} {_word(rng, _SYLLABLES_CYRILLIC, 3)}",
                    address=f"вул. {_word(rng, _SYLLABLES_CYRILLIC, 3)}, {rng.randint(1, 200)}",
                    area_id=areas[i % len(areas)].id, rules=_rules(rng), effective_from=today - timedelta(days=90),
                    places=rng.choice((1, 1, 2)),
                ))
            prisoners = []
            for i in range(scale.prisoners):
                prisoners.append(await uow.prisoners.add(
                    alias=f"{rng.choice(_NOUNS)}-{i + 1:04d}", full_name=invented_name(rng),
                    birth_year=rng.randint(1950, 2005), facility_id=rng.choice(facilities).id,
                    status=PrisonerStatus.SENTENCED if rng.random() < 0.7 else PrisonerStatus.PRE_TRIAL,
                    regime=rng.choice(("", "general", "strict")),
                ))
            categories = [c for c in NeedCategory if c is not NeedCategory.OTHER]
            for i in range(scale.needs):
                await uow.needs.add(
                    prisoner_id=prisoners[i % len(prisoners)].id, category=rng.choice(categories),
                    weight_g=rng.choice((0, 500, 1000, 2000, 3000, 5000)),
                    urgency=Urgency.URGENT if rng.random() < 0.1 else Urgency.NORMAL,
                    details=f"{_word(rng, _SYLLABLES_CYRILLIC, 4)} × {rng.randint(1, 5)}",
                )
            for i in range(scale.volunteers):
                user_id = VOLUNTEER_BASE + i
                member = await uow.members.add(
                    role=Role.VOLUNTEER, status=MemberStatus.ACTIVE, telegram_user_id=user_id, chat_id=user_id,
                    pseudonym=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {i + 1}", language="en")
                picked = rng.sample(areas, rng.choice((1, 1, 2)))
                await uow.members.set_profile(member.id, tuple(a.id for a in picked),
                                              tuple(sorted(rng.sample(range(7), rng.randint(2, 5)))))
                if rng.random() < 0.7:
                    await uow.members.set_trusted(member.id, True)
                    data.volunteers.append(user_id)
            for i in range(scale.families):
                user_id = FAMILY_BASE + i
                member = await uow.members.add(
                    role=Role.FAMILY, status=MemberStatus.ACTIVE, telegram_user_id=user_id, chat_id=user_id,
                    pseudonym=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} F{i + 1}", language="ru")
                for _ in range(rng.randint(1, 2)):
                    await uow.requests.add(member.id, RequestDetails(
                        full_name=invented_name(rng), birth_year=rng.randint(1950, 2005),
                        facility_id=rng.choice(facilities).id, categories=tuple(rng.sample(("food", "hygiene"), 1)),
                        text=f"{_word(rng, _SYLLABLES_CYRILLIC, 5)} {_word(rng, _SYLLABLES_CYRILLIC, 3)}",
                    ))
                data.families.append(user_id)
            coordinators = []
            for i in range(scale.coordinators):
                user_id = COORDINATOR_BASE + i
                coordinators.append(await uow.members.add(
                    role=Role.COORDINATOR, status=MemberStatus.ACTIVE, telegram_user_id=user_id, chat_id=user_id,
                    pseudonym=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} C{i + 1}", language="en"))
                data.coordinators.append(user_id)
            # As after an earlier start: the command menus are current, so a start sends no 1,300 menus.
            from handlers.commands_menu import VERSION_KEY, menu_version

            await uow.meta.set_sealed(VERSION_KEY, menu_version())
        if plan:
            week_start = run_service.next_week_start(store.clock.now(), TIMEZONE)
            began = time.perf_counter()
            await run_service.plan(store, week_start, TIMEZONE)
            data.plan_seconds = time.perf_counter() - began
            await run_service.publish_week(store, coordinators[0], week_start, TIMEZONE)
            await _runs_in_progress(store, data, scale.runs_in_progress)
            async with store.read() as uow:
                data.runs_published = await uow.session.value("SELECT count(*) FROM runs WHERE status = 'published'")
        await store.db.checkpoint()
    finally:
        await store.close()
    data.build_seconds = time.perf_counter() - started
    return data
