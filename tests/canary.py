"""Search files for sensitive strings in every encoding an investigator would try."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "cp1251")


def encodings_of(needle: str) -> list[tuple[str, bytes]]:
    forms = []
    for encoding in ENCODINGS:
        try:
            forms.append((encoding, needle.encode(encoding)))
        except UnicodeEncodeError:
            continue  # e.g. a Latin-only encoding of Cyrillic: that form cannot exist on disk
    return forms


def find_canaries(paths: Iterable[Path], needles: Iterable[str]) -> list[str]:
    """Every (file, needle, encoding) found; an empty list means the files hold none of them."""
    hits = []
    needles = list(needles)
    for path in paths:
        if not path.exists():
            continue
        data = path.read_bytes()
        for needle in needles:
            for encoding, form in encodings_of(needle):
                if form in data:
                    hits.append(f"{path.name}: {needle!r} as {encoding}")
    return hits
