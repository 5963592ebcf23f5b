"""Changing the draft plan by hand: move a parcel to another window, split a run, merge two runs; never a
published run, never across facilities; what a volunteer later sees follows the change."""

from __future__ import annotations

from datetime import date

from bot.domain import (
    FacilityKind,
    FacilityRules,
    HandoverWindow,
    MemberStatus,
    NeedCategory,
    PrisonerStatus,
    Role,
    RunStatus,
)
from bot.services import buttons
from bot.services.buttons import Choice
from bot.services.planner import DraftRun
from tests.test_journey_runs import seed_colonies, stop_polling_job
from tests.test_journey_week import WINDOW_END, WINDOW_START

# Aliases no generated pseudonym can contain ("Quiet Aspen 12" once made a stranger's welcome match).
ALIASES = ("Ціхая Вольха", "Dusky Tulip", "Светлая Ива")


async def seed_two_windows(bot, *, second_facility: bool = False) -> None:
    """One SIZO with a Tuesday and a Thursday window, three prisoners there with a need each."""
    async with bot.store.write() as uow:
        area = await uow.areas.add("Minsk")
        facility = await uow.facilities.add(
            kind=FacilityKind.SIZO, name="СИЗО-9 Тэставае", address="вул. Выдуманая, 9", area_id=area.id,
            rules=FacilityRules(windows=(HandoverWindow(1, "09:00", "13:00"), HandoverWindow(3, "09:00", "13:00")),
                                kg_per_month=30),
            effective_from=date(2026, 1, 1), places=2,
        )
        for number, alias in enumerate(ALIASES):
            prisoner = await uow.prisoners.add(alias=alias, full_name=f"Выдуманая Асоба {number}", birth_year=1980,
                                               facility_id=facility.id, status=PrisonerStatus.PRE_TRIAL)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.FOOD, weight_g=2000)
        if second_facility:
            other = await uow.facilities.add(
                kind=FacilityKind.COLONY, name="ИК-99 Тестовая", address="ул. Придуманная, 1", area_id=area.id,
                rules=FacilityRules(windows=(HandoverWindow(1, "10:00", "12:00"),)),
                effective_from=date(2026, 1, 1), places=1,
            )
            prisoner = await uow.prisoners.add(alias="Далёкая Сасна", full_name="Иная Персона", birth_year=1975,
                                               facility_id=other.id, status=PrisonerStatus.SENTENCED)
            await uow.needs.add(prisoner_id=prisoner.id, category=NeedCategory.HYGIENE, weight_g=500)


async def drafts(bot) -> dict[str, list[str]]:
    """Each draft's code -> the aliases of the prisoners its parcels are for."""
    async with bot.store.read() as uow:
        runs = await uow.runs.list(statuses=(RunStatus.DRAFT,))
        result = {}
        for run in runs:
            parcels = await uow.runs.parcels_of(run.id, opened=False, with_needs=False)
            aliases = await uow.prisoners.aliases({parcel.prisoner_id for parcel in parcels})
            result[run.code] = sorted(aliases[parcel.prisoner_id] for parcel in parcels)
    return result


async def _planned(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_two_windows(bot)
    await bot.send(coordinator, "/plan")
    plan = await drafts(bot)
    assert len(plan) == 1 and len(next(iter(plan.values()))) == 3  # the planner put all three on one run
    return coordinator, next(iter(plan))


async def test_split_a_run_then_move_a_parcel_to_another_window_then_merge_back(bot):
    coordinator, code = await _planned(bot)
    # Split: one parcel into a new task in the same window
    await bot.press_label(coordinator, f"Change {code}")
    screen = bot.last_text(coordinator)
    assert all(f"• {alias} · 2 kg · Food" in screen for alias in ALIASES)
    await bot.press_label(coordinator, f"Move {ALIASES[1]}")
    await bot.press_label(coordinator, f"split {code}")
    plan = await drafts(bot)
    assert len(plan) == 2 and plan[code] == sorted([ALIASES[0], ALIASES[2]])
    new_code = next(c for c in plan if c != code)
    assert plan[new_code] == [ALIASES[1]]
    assert bot.last_text(coordinator).startswith(f"{ALIASES[1]} moved to {new_code}.\nPlan for the week from")
    assert "Tue 01.12" in bot.last_text(coordinator)  # both in the Tuesday window so far

    # Move: the new task's only parcel to the Thursday... there is no Thursday draft yet, so the choices are
    # the other Tuesday draft only; moving it there empties the new task, which goes
    await bot.press_label(coordinator, f"Change {new_code}")
    await bot.press_label(coordinator, f"Move {ALIASES[1]}")
    labels = [label for label, _ in bot.api.buttons(coordinator.chat_id)]
    assert not any("split" in label for label in labels)  # one parcel: a split would only rename it
    await bot.press_label(coordinator, code)
    assert await drafts(bot) == {code: sorted(ALIASES)}
    assert f"{new_code} carried nothing else and is gone." in bot.last_text(coordinator)

    # Split again, then merge the new task back
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[2]}")
    await bot.press_label(coordinator, f"split {code}")
    split_code = next(c for c in await drafts(bot) if c != code)
    await bot.press_label(coordinator, f"Change {split_code}")
    await bot.press_label(coordinator, f"Merge {split_code} into another task")
    await bot.press_label(coordinator, code)
    assert await drafts(bot) == {code: sorted(ALIASES)}
    assert bot.last_text(coordinator).startswith(f"{split_code} merged into {code}.")
    async with bot.store.read() as uow:
        actions = [entry.action for entry in await uow.audit.recent(50)]
        needs = await uow.needs.list()
    assert actions.count("plan.parcel_moved") == 3 and actions.count("plan.runs_merged") == 1
    assert {need.status.value for need in needs} == {"planned"}  # every need still on the plan, none lost


async def test_a_parcel_moves_to_the_other_window_and_the_volunteer_list_follows(bot):
    coordinator, code = await _planned(bot)
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[0]}")
    await bot.press_label(coordinator, f"split {code}")
    split_code = next(c for c in await drafts(bot) if c != code)
    # The planner filled Tuesday only; a Thursday draft of the same place (as a plan with more needs has)
    async with bot.store.write() as uow:
        facility_id = (await uow.runs.by_code(code)).facility_id
        thursday = await uow.runs.add_draft(DraftRun(facility_id, WINDOW_START, WINDOW_END, 2, ()))
    await bot.press_label(coordinator, f"Change {split_code}")
    await bot.press_label(coordinator, f"Move {ALIASES[0]}")
    await bot.press_label(coordinator, "Thu 03.12")
    plan = await drafts(bot)
    assert plan[thursday.code] == [ALIASES[0]] and split_code not in plan
    await bot.press_label(coordinator, "Publish all")
    async with bot.store.read() as uow:
        assert (await uow.runs.by_code(thursday.code)).status is RunStatus.PUBLISHED


async def test_published_runs_and_other_facilities_are_out_of_reach(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_two_windows(bot, second_facility=True)
    await bot.send(coordinator, "/plan")
    plan = await drafts(bot)
    assert len(plan) == 2
    sizo = next(code for code, aliases in plan.items() if len(aliases) == 3)
    colony = next(code for code in plan if code != sizo)
    # The SIZO run has no other draft of its own facility: no Merge, and Move offers only a split
    await bot.press_label(coordinator, f"Change {sizo}")
    labels = [label for label, _ in bot.api.buttons(coordinator.chat_id)]
    assert not any(label.startswith("Merge") for label in labels)
    await bot.press_label(coordinator, f"Move {ALIASES[0]}")
    labels = [label for label, _ in bot.api.buttons(coordinator.chat_id)]
    assert not any(colony in label for label in labels)
    change_tokens = [data for label, data in bot.api.buttons(coordinator.chat_id) if "split" in label]

    # A forged move to the other facility's run changes nothing (the token can only carry what was issued,
    # so issue one the way the screen would, with the wrong target)
    async with bot.store.read() as uow:
        sizo_run, colony_run = await uow.runs.by_code(sizo), await uow.runs.by_code(colony)
        parcel = (await uow.runs.parcels_of(sizo_run.id, opened=False, with_needs=False))[0]
    member = await bot.member(coordinator)
    [[token]] = await buttons.issue(bot.store, member.id, [[Choice("x", "plan.move", {
        "run": sizo_run.id, "parcel": parcel.id, "to": colony_run.id})]], ttl_hours=1)
    await bot.press(coordinator, token[1])
    assert await drafts(bot) == plan
    assert "not possible" in [c.params.get("text", "") for c in bot.api.calls_to("answerCallbackQuery")][-1]

    # Once published, a split offered earlier is refused
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, "Publish all")
    await bot.press(coordinator, change_tokens[0])
    async with bot.store.read() as uow:
        assert len(await uow.runs.list(statuses=(RunStatus.PUBLISHED,))) == 2
        assert await uow.runs.list(statuses=(RunStatus.DRAFT,)) == []



async def test_nobody_but_a_coordinator_changes_or_sees_a_draft_even_holding_a_token(bot):

    coordinator, code = await _planned(bot)
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[0]}")
    await bot.press_label(coordinator, f"split {code}")
    before = await drafts(bot)
    other = next(c for c in before if c != code)
    async with bot.store.read() as uow:
        run, into = await uow.runs.by_code(code), await uow.runs.by_code(other)
        parcel = (await uow.runs.parcels_of(run.id, opened=False, with_needs=False))[0]
    volunteer, family, frozen = (await bot.join(Role.VOLUNTEER), await bot.join(Role.FAMILY),
                                 await bot.join(Role.COORDINATOR))
    frozen_id = (await bot.member(frozen)).id
    async with bot.store.write() as uow:
        await uow.members.set_status(frozen_id, MemberStatus.FROZEN)
    for person in (volunteer, family, frozen):
        member_id = (await bot.member(person)).id
        for action, payload in (("plan.change", {"run": run.id}),
                                ("plan.move_to", {"run": run.id, "parcel": parcel.id}),
                                ("plan.move", {"run": run.id, "parcel": parcel.id, "to": 0}),
                                ("plan.move", {"run": run.id, "parcel": parcel.id, "to": into.id}),
                                ("plan.merge", {"run": into.id, "into": run.id})):
            [[(_, token)]] = await buttons.issue(bot.store, member_id, [[Choice("x", action, payload)]], ttl_hours=1)
            await bot.press(person, token)
        assert not any(alias in text for text in bot.texts(person) for alias in ALIASES)
    assert await drafts(bot) == before


async def test_a_long_plan_comes_a_page_at_a_time_and_a_change_comes_back_to_its_page(bot):
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR)
    await seed_colonies(bot, 25, "Brest")
    await bot.send(coordinator, "/plan")
    first = bot.last_text(coordinator)
    assert "25 tasks (drafts: 25) · page 1 of 3" in first and first.count("draft · R-") == 10
    calls = bot.api.calls_to("sendMessage", chat_id=coordinator.chat_id)
    keyboard = calls[-1].params["reply_markup"]["inline_keyboard"]
    assert sum(len(row) for row in keyboard) <= 100 and len(first) <= 4096
    await bot.press_label(coordinator, "Next")
    second = bot.last_text(coordinator)
    assert "page 2 of 3" in second and second.count("draft · R-") == 10
    code = second.split("draft · ")[1].split(" ")[0]
    assert code not in first
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, "Back to the plan")
    assert "page 2 of 3" in bot.last_text(coordinator)
    await bot.press_label(coordinator, "Publish all")  # every draft of the week, not only this page
    async with bot.store.read() as uow:
        assert len(await uow.runs.list(statuses=(RunStatus.PUBLISHED,))) == 25


async def test_hand_made_runs_keep_the_planners_limits(bot):
    coordinator, code = await _planned(bot)
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[0]}")
    await bot.press_label(coordinator, f"split {code}")
    split_code = next(c for c in await drafts(bot) if c != code)
    # A third run in the same window: more than the planner puts in one window
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[1]}")
    await bot.press_label(coordinator, f"split {code}")
    too_big = "That would be more than one task can carry, or more tasks than that window takes."
    assert [c.params.get("text") for c in bot.api.calls_to("answerCallbackQuery")][-1] == too_big
    assert len(await drafts(bot)) == 2
    # Heavier than one task can carry: 29 kg on one run, 2 kg more refused
    async with bot.store.write() as uow:
        await uow.session.run("UPDATE parcels SET weight_g = 29000 WHERE run_id = (SELECT id FROM runs WHERE code = ?)",
                              (split_code,))
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, f"Change {code}")
    await bot.press_label(coordinator, f"Move {ALIASES[1]}")
    await bot.press_label(coordinator, split_code)
    assert [c.params.get("text") for c in bot.api.calls_to("answerCallbackQuery")][-1] == too_big
    assert (await drafts(bot))[split_code] == [ALIASES[0]]
    await bot.send(coordinator, "/plan")
    await bot.press_label(coordinator, f"Change {split_code}")
    await bot.press_label(coordinator, f"Merge {split_code} into another task")
    await bot.press_label(coordinator, code)
    assert [c.params.get("text") for c in bot.api.calls_to("answerCallbackQuery")][-1] == too_big
    assert len(await drafts(bot)) == 2
