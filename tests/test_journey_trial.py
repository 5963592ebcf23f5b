"""The trial ends after `trial_runs` delivered runs: a volunteer who is not marked trusted but has done that
many runs takes a place at once; one below it still waits for a coordinator."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain import AssignmentStatus, Role
from schedules import jobs
from tests.test_journey_runs import seed_week, stop_polling_job, volunteer

WAITS = "A coordinator will confirm your place"
APPROVAL_REQUEST = "A claim is waiting for approval. Open /board."


async def untrusted_with_runs(bot, area_id: int, runs_done: int, name: str):
    person = await volunteer(bot, area_id, trusted=False, name=name)
    member = await bot.member(person)
    async with bot.store.write() as uow:
        for _ in range(runs_done):
            await uow.members.count_run_done(member.id)
    member = await bot.member(person)
    assert member.runs_done == runs_done and not member.trusted
    return person


async def published_run(bot, runs_done: dict[str, int]):
    """A coordinator, the seeded two-place run published, and one untrusted volunteer per entry."""
    stop_polling_job(bot)
    coordinator = await bot.join(Role.COORDINATOR, name="Рагнеда Trial")
    area_id = await seed_week(bot)
    people = {name: await untrusted_with_runs(bot, area_id, done, name) for name, done in runs_done.items()}
    await bot.send(coordinator, "/plan")
    code = bot.last_text(coordinator).split("draft · ")[1].split(" ")[0]
    await bot.press_label(coordinator, "Publish all")
    await jobs.run_due(bot.application)
    return coordinator, people, code


async def claim(bot, person, code: str) -> list:
    await bot.send(person, "/runs")
    return await bot.press_label(person, f"Claim {code}")


async def assignment_status(bot, person) -> AssignmentStatus:
    member = await bot.member(person)
    async with bot.store.read() as uow:
        (assignment,) = await uow.runs.live_assignments_of_member(member.id)
    return assignment.status


async def test_two_delivered_runs_end_the_trial_and_one_does_not(bot):
    assert bot.config.trial_runs == 2  # the default
    coordinator, people, code = await published_run(bot, {"Веранiка Graduate": 2, "Piotr Навічок": 1})
    graduate, novice = people["Веранiка Graduate"], people["Piotr Навічок"]

    # The one with two runs done takes the place at once: details follow, no coordinator is asked
    calls = await claim(bot, graduate, code)
    assert bot.texts(graduate)[-2] == f"Thank you. The place on {code} is yours. The details follow now; see /myruns."
    assert bot.last_text(graduate).startswith(f"Details for your task {code}")
    assert not any(WAITS in text for text in bot.texts(graduate))
    assert not [call for call in calls if call.method == "sendMessage" and call.chat_id == coordinator.chat_id]
    assert APPROVAL_REQUEST not in bot.texts(coordinator)
    assert await assignment_status(bot, graduate) is AssignmentStatus.CLAIMED

    # The one with a single run done still waits for a coordinator, who is asked
    await claim(bot, novice, code)
    assert WAITS in bot.last_text(novice)
    assert not any(text.startswith("Details for your task") for text in bot.texts(novice))
    assert bot.texts(coordinator).count(APPROVAL_REQUEST) == 1
    assert await assignment_status(bot, novice) is AssignmentStatus.AWAITING_APPROVAL


class TestAConfiguredTrialLength:
    """The number comes from the configuration ([members] trial_runs), not a constant."""

    @pytest.fixture
    def config(self, config):
        return dataclasses.replace(config, trial_runs=3)

    async def test_two_runs_are_not_enough_when_three_are_configured(self, bot):
        coordinator, people, code = await published_run(bot, {"Генрых Two": 2, "Zoja Тры": 3})
        await claim(bot, people["Генрых Two"], code)
        assert WAITS in bot.last_text(people["Генрых Two"])
        assert await assignment_status(bot, people["Генрых Two"]) is AssignmentStatus.AWAITING_APPROVAL
        await claim(bot, people["Zoja Тры"], code)
        assert f"The place on {code} is yours" in bot.texts(people["Zoja Тры"])[-2]
        assert await assignment_status(bot, people["Zoja Тры"]) is AssignmentStatus.CLAIMED
        assert bot.texts(coordinator).count(APPROVAL_REQUEST) == 1  # only for the one still on trial


async def test_volunteers_list_shows_the_trial_as_the_claims_apply_it(bot):
    """/volunteers said "on trial" for anyone not marked trusted, even after their runs ended the trial."""
    coordinator, people, _ = await published_run(bot, {"Graduate Ясь": 2, "Newcomer Zosia": 1})
    for name, expected in (("Graduate Ясь", "trusted"), ("Newcomer Zosia", "on trial")):
        pseudonym = (await bot.member(people[name])).pseudonym
        await bot.send(coordinator, "/volunteers")
        [line] = [line for line in bot.last_text(coordinator).splitlines() if pseudonym in line]
        assert f"volunteer · {expected} ·" in line
        await bot.press_label(coordinator, pseudonym)  # the card offers Trust only to one still on trial
        assert any(label == "Trust" for label, _ in bot.api.buttons(coordinator.chat_id)) == (expected == "on trial")
