"""Languages: complete catalogues, the same placeholders everywhere, dates the member's way, a journey
in each language, and a command menu that follows the member's role and language."""

from __future__ import annotations

import re
import string
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.domain import MemberStatus, Role
from bot.i18n import (
    ENUM_MESSAGE_IDS,
    TRANSLATED,
    format_day,
    format_time,
    format_window,
    pick_language,
    translator,
    weekday_name,
)
from bot.i18n_catalogues import extract, missing, read_catalogue
from bot.i18n_extract import Project, extract_ids
from handlers.menu import PENDING_ALLOWED, commands_for

ROOT = Path(__file__).resolve().parents[1]
MINSK = ZoneInfo("Europe/Minsk")


@pytest.fixture(scope="module")
def template():
    catalogue, _ = extract(ROOT)
    return catalogue


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _entries(language: str):
    return [message for message in read_catalogue(language) if message.id]


# Catalogues ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_id_in_the_code_is_translated(template, language):
    """Given every id the extractor finds in bot/, handlers/ and schedules/, when the catalogue is read,
    then each has a non-empty, non-fuzzy translation. Add the printed ids with `python -m bot.i18n extract`."""
    gaps = missing(template, read_catalogue(language))
    assert gaps == [], (
        f"{len(gaps)} message id(s) without a {language} translation "
        f"(run `python -m bot.i18n extract`, fill bot/locales/{language}/LC_MESSAGES/parcelbot.po):\n"
        + "\n".join(f"  {gap!r}" for gap in gaps)
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_exactly_the_placeholders_of_their_id(language):
    wrong = []
    for message in _entries(language):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(_names(text) for text in ids))
        for text in filter(None, strings):
            if _names(text) != expected:
                wrong.append(f"{ids[0]!r}: {sorted(_names(text))} != {sorted(expected)}")
            else:
                text.format(**dict.fromkeys(expected, "x"))  # braces balanced, nothing positional
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_catalogue_has_fuzzy_entries(language):
    catalogue = read_catalogue(language)
    fuzzy = [message.id for message in catalogue if message.id and message.fuzzy]
    assert fuzzy == [], "review these and remove the fuzzy flag:\n" + "\n".join(map(repr, fuzzy))
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy"


@pytest.mark.parametrize("language", TRANSLATED)
def test_notification_first_lines_stay_neutral_in_every_language(language):
    """The words a lock screen must never show are not introduced by a translation."""
    forbidden = ("заключ", "вязень", "вязня", "вязн", "тюрьм", "турм", "prisoner")
    offenders = []
    for message in _entries(language):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            first = re.sub(r"/\w+", "", text.split("\n", 1)[0]).casefold()  # command names stay English
            if any(word in first for word in forbidden):
                offenders.append(text)
    assert offenders == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_what_families_hear_unasked_does_not_use_the_word_for_a_prison_parcel(language):
    """"Передача" (and Belarusian "перадача") is what a parcel into a prison is called: a lock screen
    showing it says as much as "prisoner" would. Coordinators' own views may use it; notices may not."""
    from handlers.family import NOTICE

    t = translator(language)
    for notice in (t(NOTICE), t("Update: a parcel was handed in on {date}.", date="03.12.2026")):
        assert "передач" not in notice.casefold() and "перадач" not in notice.casefold(), notice


def test_no_message_is_built_from_pieces_in_code():
    """t(f"..."), t("a" + b) or t("..." % x) can never match a catalogue entry: one id with placeholders."""
    _, dynamic = extract(ROOT)
    assert [str(site) for site in dynamic if site.built] == []


def test_every_value_of_the_domain_enums_is_a_message_id(template):
    assert "active" in ENUM_MESSAGE_IDS and "pre_trial" in ENUM_MESSAGE_IDS and "coordinator" in ENUM_MESSAGE_IDS
    assert [value for value in ENUM_MESSAGE_IDS if value not in template] == []


def test_russian_and_belarusian_pick_the_right_plural_form():
    singular, plural = "{count} new task for {day}", "{count} new tasks for {day}"
    ru, be = translator("ru"), translator("be")
    assert [ru.plural(singular, plural, n, day="чт") for n in (1, 3, 5, 21)] == [
        "1 новое задание на чт", "3 новых задания на чт", "5 новых заданий на чт", "21 новое задание на чт"]
    assert be.plural(singular, plural, 11, day="чц") == "11 новых заданняў на чц"


def test_translator_falls_back_to_english_for_an_unknown_id():
    for language in ("ru", "be", "en", "xx"):
        t = translator(language)
        assert t("A sentence nobody has translated, {name}.", name="Aga") == "A sentence nobody has translated, Aga."
        assert t("") == ""  # never the catalogue's header
    assert translator("xx").language == "en"
    assert translator("ru")("This is a private bot.") == "Это частный бот."
    assert translator("be")("This is a private bot.") == "Гэта прыватны бот."


def test_the_telegram_language_code_picks_the_members_language():
    assert pick_language("be-BY") == "be" and pick_language("ru") == "ru" and pick_language("en-GB") == "en"
    assert pick_language("uk") == "ru" and pick_language(None, default="ru") == "ru"
    assert pick_language("de", default="en") == "en"


def test_catalogues_ship_inside_the_package_and_load_without_a_compile_step():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    assert "locales/*/LC_MESSAGES/*.po" in patterns
    for language in TRANSLATED:
        assert i18n.po_path(language).match("bot/locales/*/LC_MESSAGES/*.po")
        assert not list(i18n.po_path(language).parent.glob("*.mo"))  # nothing compiled is needed or kept
    assert any(dependency.lower().startswith("babel") for dependency in config["project"]["dependencies"])


# The extractor -------------------------------------------------------------------------------------


def _project(tmp_path: Path, files: dict[str, str]) -> Project:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return Project(tmp_path)


def test_the_extractor_follows_ids_through_constants_loops_branches_and_imports(tmp_path):
    project = _project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/labels.py": 'KINDS = {"a": "Kind A", "b": "Kind B"}\nUNKNOWN = "Not understood."\n',
    })
    source = '''
from pkg.labels import KINDS, UNKNOWN
from pkg import labels
from bot.i18n import N_
BUTTONS = (("Claim {code}", "claim"), ("Give back {code}", "give"))
MENU = (("help", N_("What you can do")),)

def handler(t, frozen, error, label_param):
    t("Literal {name}.", name=1)
    t(UNKNOWN)
    t(labels.UNKNOWN)
    rows = [t(label) for key, label in KINDS.items()]
    for label, action in BUTTONS:
        t(label, code=1)
    t("Frozen." if frozen else "Not frozen.")
    message = "From a variable."
    raise InputError(message)
    tell_coordinators(context, "To coordinators {x}.", x=1)
    send_to_member(context, member, "To one member.")
    t.plural("{count} parcel", "{count} parcels", 2)
    text_field(text, low=1, high=2, message="Keyword {low}-{high}.")
    prompts = {"a": "Prompt A."}
    t(prompts[key])
    t(error.message)
    t(label_param)

def built(t, name):
    t(f"Hello {name}")
    t("Hello " + name)
'''
    dynamic: list = []
    found = {message for _, message in extract_ids(source, project, "pkg/handler.py", dynamic)}
    assert found >= {
        "Literal {name}.", "Not understood.", "Kind A", "Kind B", "Claim {code}", "Give back {code}",
        "What you can do", "Frozen.", "Not frozen.", "From a variable.", "To coordinators {x}.", "To one member.",
        ("{count} parcel", "{count} parcels"), "Keyword {low}-{high}.", "Prompt A.",
    }
    assert "claim" not in found and "help" not in found  # command names and actions are not ids
    assert {(site.code, site.built) for site in dynamic} == {
        ("error.message", False), ("label_param", False), ("f'Hello {name}'", True), ("'Hello ' + name", True)}


def test_the_extractor_reports_enum_values_only_where_asked(tmp_path):
    project = _project(tmp_path, {})
    source = 'class Status(StrEnum):\n    OPEN = "open"\n    DONE = "done"\n'
    assert [m for _, m in extract_ids(source, project, enums=True)] == ["open", "done"]
    assert list(extract_ids(source, project)) == []


# Dates and times -------------------------------------------------------------------------------------


def test_days_weekdays_and_times_are_shown_in_the_members_language_and_zone():
    thursday = date(2026, 11, 26)
    assert format_day(thursday, "en") == "Thu, 26.11.2026"
    assert format_day(thursday, "ru") == "чт, 26.11.2026"
    assert format_day(thursday, "be") == "чц, 26.11.2026"
    assert [weekday_name(day, "be") for day in range(7)] == ["пн", "аў", "ср", "чц", "пт", "сб", "нд"]
    assert weekday_name(0, "en") == "Mon" and weekday_name(6, "ru") == "вс"
    late = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # already Friday in Minsk (UTC+3)
    assert format_day(late, "ru", MINSK) == "пт, 27.11.2026"
    assert format_time(late, "be", MINSK) == "01:30"
    start, end = datetime(2026, 11, 26, 6, 0, tzinfo=UTC), datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert format_window(start, end, "ru", MINSK) == "чт, 26.11.2026, 09:00–13:00"
    assert format_window(late, datetime(2026, 11, 27, 23, 0, tzinfo=UTC), "en", MINSK) == \
        "Fri, 27.11.2026, 01:30 – Sat, 28.11.2026, 02:00"


# Journeys in each language and the command menu ---------------------------------------------------

HELP_LINE = {"en": "/language — Change the language", "ru": "/language — Сменить язык",
             "be": "/language — Змяніць мову"}


def _menu(bot, chat_id: int) -> list[tuple[str, str]] | None:
    """The commands Telegram would show in this chat: the last set or delete for its chat scope."""
    calls = [call for call in bot.api.calls
             if call.method in ("setMyCommands", "deleteMyCommands")
             and (call.params.get("scope") or {}).get("chat_id") == chat_id]
    if not calls or calls[-1].method == "deleteMyCommands":
        return None
    assert calls[-1].params["scope"]["type"] == "chat" and not calls[-1].params.get("language_code")
    return [(command["command"], command["description"]) for command in calls[-1].params["commands"]]


@pytest.fixture
def untranslated(monkeypatch):
    """Every id shown to a ru/be member that its catalogue lacks (catches ids built at run time)."""
    seen: list[str] = []
    original = i18n.Translator.__call__

    def recording(self, message, /, **values):
        catalogue = getattr(i18n.catalogue(self.language), "_catalog", {})
        if self.language != "en" and message and message not in catalogue:
            seen.append(message)
        return original(self, message, **values)

    monkeypatch.setattr(i18n.Translator, "__call__", recording)
    return seen


@pytest.mark.parametrize("language", ["en", "ru", "be"])
async def test_a_family_registers_gets_help_and_a_menu_in_its_language_then_switches(bot, language, untranslated):
    t = translator(language)
    family = await bot.join(Role.FAMILY, language=language, name="Алена")
    member = await bot.member(family)
    assert member.language == language
    assert t("Welcome. Here you are {pseudonym}; others see only this name.", pseudonym=member.pseudonym) \
        in bot.last_text(family)
    assert _menu(bot, family.chat_id) == [(command, t(description)) for command, description in commands_for(member)]

    await bot.send(family, "/help")
    assert HELP_LINE[language] in bot.last_text(family)
    assert t("You can ask for support for your relative and see how it goes.") in bot.last_text(family)

    other = "ru" if language != "ru" else "be"
    await bot.send(family, "/language")
    await bot.press_label(family, {"ru": "Русский", "be": "Беларуская"}[other])
    assert (await bot.member(family)).language == other
    assert bot.last_text(family) == translator(other)("Done. I will speak this language from now on.")
    assert ("help", translator(other)("What you can do here")) in _menu(bot, family.chat_id)
    await bot.send(family, "/help")
    assert HELP_LINE[other] in bot.last_text(family)
    assert untranslated == []


async def test_a_volunteer_picks_days_by_weekday_names_in_russian_and_the_menu_grows_with_the_profile(
        bot, untranslated):
    async with bot.store.write() as uow:
        await uow.areas.add("Гомель")
    volunteer = await bot.join(Role.VOLUNTEER, language="ru")
    pending = await bot.member(volunteer)
    assert pending.status is MemberStatus.PENDING
    pending_menu = [command for command, _ in _menu(bot, volunteer.chat_id)]
    assert pending_menu == [command for command, _ in commands_for(pending)] and "runs" not in pending_menu
    assert set(pending_menu) <= set(PENDING_ALLOWED)
    await bot.send(volunteer, "/profile")
    await bot.press_label(volunteer, "Гомель")
    await bot.press_label(volunteer, "Дальше")
    assert [label for label, _ in bot.api.buttons(volunteer.chat_id)][:4] == ["пн", "вт", "ср", "чт"]
    await bot.press_label(volunteer, "вт")
    await bot.press_label(volunteer, "сб")
    await bot.press_label(volunteer, "Сохранить")
    assert "Сохранено. Ваши дни: вт, сб." in bot.last_text(volunteer)
    active = await bot.member(volunteer)
    assert active.status is MemberStatus.ACTIVE and active.weekdays == (1, 5)
    assert ("runs", "Открытые задания, которые можно взять") in _menu(bot, volunteer.chat_id)
    assert untranslated == []


async def test_strangers_see_only_start_and_a_panic_takes_the_members_menu_away(bot):
    defaults = [call for call in bot.api.calls_to("setMyCommands") if not call.params.get("scope")]
    by_language = {call.params.get("language_code") or "": call.params["commands"] for call in defaults}
    assert by_language == {
        "": [{"command": "start", "description": "Start"}],
        "ru": [{"command": "start", "description": "Начать"}],
        "be": [{"command": "start", "description": "Пачаць"}],
    }
    coordinator = await bot.join(Role.COORDINATOR)
    await bot.join(Role.COORDINATOR)  # so the first may be frozen by their own panic
    assert ("invite", "Invite a new member") in _menu(bot, coordinator.chat_id)
    await bot.send(coordinator, "/panic")
    assert (await bot.member(coordinator)).status is MemberStatus.FROZEN
    assert _menu(bot, coordinator.chat_id) is None  # back to the default: only /start


async def test_after_an_upgrade_that_changes_the_menu_every_members_menu_is_refreshed(bot, monkeypatch):
    from handlers import commands_menu

    family = await bot.join(Role.FAMILY, language="be")
    monkeypatch.setattr(commands_menu, "menu_version", lambda: "a-newer-menu")
    since = bot.api.mark()
    await bot.restart()
    calls = await bot.api.wait_for(
        "setMyCommands", since=since,
        predicate=lambda call: (call.params.get("scope") or {}).get("chat_id") == family.chat_id)
    assert ("help", "Што тут можна зрабіць") in [(c["command"], c["description"]) for c in calls[-1].params["commands"]]
    async with bot.store.read() as uow:
        assert await uow.meta.get_sealed(commands_menu.VERSION_KEY) == "a-newer-menu"
