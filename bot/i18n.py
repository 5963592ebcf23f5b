"""Every user-facing sentence goes through a Translator (gettext catalogues under bot/locales).

Message ids are English sentences with {named} placeholders; a missing catalogue falls back to the
English text, so the bot always says something sensible.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "parcelbot"
LANGUAGES = ("en", "ru", "be")


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
        self.language = language if language in LANGUAGES else "en"
        self._catalogue = _catalogue(self.language)

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalogue.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, count)
        return text.format(count=count, **values)


@cache
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def translator(language: str) -> Translator:
    return _translators(language)


@cache
def _translators(language: str) -> Translator:
    return Translator(language)
