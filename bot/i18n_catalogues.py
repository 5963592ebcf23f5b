"""Keeping the .po catalogues in step with the code (Babel), and listing what is missing.

Commands (from the repository root):
  python -m bot.i18n extract   add new ids to bot/locales/*/LC_MESSAGES/parcelbot.po; an id whose English
                               changed a little comes back marked fuzzy with the old translation
                               (review it, then remove the fuzzy flag)
  python -m bot.i18n check     list ids missing or fuzzy in any catalogue, and the call sites the
                               extractor could not follow; exit 1 if anything is missing

Ids are found by the extraction method in bot/i18n_extract.py, mapped to files by babel.cfg.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, ENUM_MESSAGE_IDS, TRANSLATED, po_path
from bot.i18n_extract import BABEL_KEYWORDS, DynamicSite, forget_parsed

ROOT = Path(__file__).resolve().parents[1]
MAPPING_FILE = "babel.cfg"



def extract(root: Path = ROOT) -> tuple[Catalog, list[DynamicSite]]:
    """Every message id in bot/, handlers/ and schedules/ (as babel.cfg maps them) as a template."""
    mapping = root / MAPPING_FILE
    if not mapping.exists():
        raise SystemExit(f"{mapping} not found: run this from a source checkout")
    with mapping.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(mapping))
    dynamic: list[DynamicSite] = []
    forget_parsed(root)
    options_map = {pattern: {**options, "root": str(root), "dynamic": dynamic}
                   for pattern, options in options_map.items()}
    template = Catalog(domain=DOMAIN, project="parcelbot")
    for filename, line, message, comments, context in extract_from_dir(
        root, method_map, options_map, keywords=BABEL_KEYWORDS
    ):
        template.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    for message in ENUM_MESSAGE_IDS:  # also found in bot/domain.py; here so nothing depends on the mapping
        if message not in template:
            template.add(message, None, [("bot/domain.py", 0)])
    return template, dynamic


def read_catalogue(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN, project="parcelbot", version="1",
                       copyright_holder="parcelbot contributors", msgid_bugs_address="-",
                       last_translator="parcelbot contributors", language_team=language, fuzzy=False,
                       header_comment=f"# parcelbot: {language} messages. Ids are English; see bot/i18n_catalogues.py.")
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def missing(template: Catalog, catalogue: Catalog) -> list[str]:
    """Ids of the template with no translation (or only a fuzzy one) in the catalogue."""
    gaps = []
    for message in template:
        if not message.id:
            continue
        found = catalogue.get(message.id)
        if found is None or found.fuzzy:
            gaps.append(message.id[0] if isinstance(message.id, tuple) else message.id)
            continue
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        forms = catalogue.num_plurals if isinstance(message.id, tuple) else 1
        if len(strings) != forms or not all(strings):
            gaps.append(message.id[0] if isinstance(message.id, tuple) else message.id)
    return gaps


def render(catalogue: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalogue, width=0, sort_output=True, include_lineno=False)
    return out.getvalue()


def _without_dates(text: bytes) -> bytes:
    return b"\n".join(line for line in text.splitlines()
                      if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date')))


def update(template: Catalog, languages: tuple[str, ...] = TRANSLATED) -> list[Path]:
    """Merge the template into each catalogue; writes only files whose content changed."""
    written = []
    for language in languages:
        catalogue = read_catalogue(language)
        catalogue.update(template, update_creation_date=False)
        path = po_path(language)
        text = render(catalogue)
        if path.exists() and _without_dates(path.read_bytes()) == _without_dates(text):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command not in ("extract", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    template, dynamic = extract()
    if command == "extract":
        for path in update(template):
            print(f"updated {path.relative_to(ROOT)}")
    print(f"{len(template)} message ids")
    gaps = 0
    for language in TRANSLATED:
        for message in missing(template, read_catalogue(language)):
            gaps += 1
            print(f"missing in {language}: {message!r}")
    if dynamic:
        print("not followed (make sure these ids are marked with N_(...) where they are written):")
        for site in dynamic:
            print(f"  {site}" + ("   <- built in code: write one id with {placeholders}" if site.built else ""))
    return 1 if gaps else 0
