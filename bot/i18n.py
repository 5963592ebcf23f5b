"""Every user-facing sentence goes through a Translator; dates and times are shown the member's way.

Message ids are English sentences with {named} placeholders. The Russian and Belarusian catalogues are
gettext .po files under bot/locales, read at run time with Babel (no compile step for whoever installs
the bot). An id missing from a catalogue falls back to the English text, so the bot always says
something sensible; tests/test_i18n.py makes sure none is missing. `python -m bot.i18n extract` adds
new ids to the catalogues (bot/i18n_catalogues.py).
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from functools import cache
from pathlib import Path

from babel.dates import format_date, get_day_names
from babel.dates import format_time as babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot import domain

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "parcelbot"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "ru", "be")
TRANSLATED = ("ru", "be")  # the catalogues that must be complete


def N_(message: str) -> str:
    """Marks a message id where it is written, for extraction; translated later where it is shown."""
    return message


def _shown_enums() -> tuple[type[StrEnum], ...]:
    return tuple(value for value in vars(domain).values()
                 if isinstance(value, type) and issubclass(value, StrEnum) and value.__module__ == domain.__name__)


# Handlers show statuses, roles and categories as t(member.status.value): every value of every enum in
# bot/domain.py is a message id, so a new enum value is caught by the catalogue test at once.
ENUM_MESSAGE_IDS: tuple[str, ...] = tuple(dict.fromkeys(item.value for enum in _shown_enums() for item in enum))


def pick_language(telegram_code: str | None, default: str = "ru") -> str:
    """Telegram's language code ("ru", "be-BY", "en-GB") mapped to one we speak."""
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
        if base in ("uk", "kk", "ky", "uz", "tg"):  # neighbours usually read Russian
            return "ru"
    return default


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else SOURCE_LANGUAGE
        self._catalogue = catalogue(self.language)

    def __call__(self, message: str, /, **values: object) -> str:
        # gettext("") would return the catalogue's header, never what anyone meant to show.
        text = self._catalogue.gettext(message) if message else message
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, count)
        return text.format(count=count, **values)

    def weekday(self, weekday: int) -> str:
        return weekday_name(weekday, self.language)

    def day(self, day: date) -> str:
        return format_day(day, self.language)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The .po file read with Babel and turned into gettext translations in memory (fuzzy entries and
    empty translations are left out, so they fall back to English)."""
    path = po_path(language)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        parsed = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translator(language: str) -> Translator:
    return _translators(language)


@cache
def _translators(language: str) -> Translator:
    return Translator(language)


# Dates and times: Babel's CLDR data, in the configured time zone ------------------------------------


def _locale(language: str) -> str:
    return language if language in LANGUAGES else SOURCE_LANGUAGE


def weekday_name(weekday: int, language: str) -> str:
    """0 = Monday -> "Mon", "пн", "пн" (Babel's abbreviated stand-alone names)."""
    return get_day_names("abbreviated", context="stand-alone", locale=_locale(language))[weekday]


def weekday_names(language: str) -> tuple[str, ...]:
    return tuple(weekday_name(day, language) for day in range(7))


@cache
def _weekday_lookup() -> dict[str, int]:
    """Every way Babel writes a weekday in our languages ("Tue", "Tuesday", "вт", "аўторак", ...)."""
    names: dict[str, int] = {}
    for language in LANGUAGES:
        for width in ("abbreviated", "wide", "short"):
            for context in ("format", "stand-alone"):
                for day, name in get_day_names(width, context=context, locale=_locale(language)).items():
                    names.setdefault(name.casefold().rstrip("."), day)
    return names


def weekday_from_name(name: str) -> int | None:
    """A typed weekday in any of our languages -> 0 (Monday) .. 6, or None."""
    return _weekday_lookup().get(name.strip().casefold().rstrip("."))


def format_day(day: date | datetime, language: str, tz: tzinfo | None = None) -> str:
    """"Thu, 26.11.2026" / "чт, 26.11.2026" / "чц, 26.11.2026". A datetime is first moved into `tz`."""
    if isinstance(day, datetime):
        day = _local(day, tz).date()
    return format_date(day, "EEE, dd.MM.yyyy", locale=_locale(language))


def format_time(moment: datetime, language: str, tz: tzinfo | None = None) -> str:
    """"09:00" in the configured time zone (24-hour clock in all three languages)."""
    return babel_format_time(_local(moment, tz), "HH:mm", locale=_locale(language))


def format_kg(kilograms: float, language: str) -> str:
    """"2.5" / "2,5": up to three decimals (grams), the language's decimal sign, no grouping."""
    return format_decimal(kilograms, "0.###", locale=_locale(language))


def format_window(start: datetime, end: datetime, language: str, tz: tzinfo | None = None) -> str:
    """"Thu, 26.11.2026, 09:00–13:00"; a window over midnight names both days."""
    start_local, end_local = _local(start, tz), _local(end, tz)
    first = f"{format_day(start_local, language)}, {format_time(start_local, language)}"
    if start_local.date() == end_local.date():
        return f"{first}–{format_time(end_local, language)}"
    return f"{first} – {format_day(end_local, language)}, {format_time(end_local, language)}"


def _local(moment: datetime, tz: tzinfo | None) -> datetime:
    """Aware moments move into `tz`; naive ones are taken as UTC, like everything from bot.clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz) if tz is not None else moment


if __name__ == "__main__":  # python -m bot.i18n extract | check
    from bot.i18n_catalogues import main

    raise SystemExit(main())
