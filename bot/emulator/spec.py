"""Validate Bot API requests against the official method list (``shared/telegram-bot-api/api.json``).

The fake server must keep the bot honest against the *real* API, not against our own assumptions,
so every rule here is read from the machine-readable copy of the official documentation: method and
field names, required flags, field types, and the length limits written in field descriptions
("1-4096 characters after entities parsing", "1-64 bytes", "At most 100 commands ...").  Only a few
rules that the documentation states in prose are written out by hand (see ``_HAND_WRITTEN``).

Everything is compiled into lookup tables once, when the file is loaded; ``validate`` only walks the
request.  The file is never copied into the project: it is read where it lies, beside the project
root, or from ``$PARCELBOT_API_SPEC``.  When it cannot be found we raise, naming every path tried —
a test suite that silently stops validating is worse than one that fails.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_ENV_VAR = "PARCELBOT_API_SPEC"

_SCALARS = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
_ARRAY_PREFIX = "Array of "

# Field names that hold ids even when the method is unknown to the spec (so a 404 call still shows
# integers in ``Call.params``); for known methods the field types in api.json decide.
GENERIC_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "user_id", "offset", "limit", "timeout", "from_chat_id"}
)

# Telegram's HTML parse mode accepts only these tags; anything else is "unsupported start tag".
# ("tg-time" formats the date_time entity added in recent Bot API versions.)
_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
        "tg-emoji", "code", "pre", "blockquote", "tg-time",
    }
)  # fmt: skip
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_INT_RE = re.compile(r"-?\d+")
_RANGE_RE = re.compile(r"(\d+)-(\d+) (characters|bytes|items|elements|identifiers)")
_AFTER_ENTITIES_RE = re.compile(r"after entit(?:y|ies) parsing")
_AT_MOST_RE = re.compile(r"At most (\d+) [\w ]+? can be specified")
_DISCRIMINATOR_RE = re.compile(r'(?:must be|always) "?([a-z_]+)"?')
_OTHER_THAN_RE = re.compile(r"of the fields other than ([\w, ]+?) must be used")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class ApiSpecNotFoundError(FileNotFoundError):
    """The Bot API spec file is missing: the test suite must stop, not skip validation."""


@dataclass(frozen=True, slots=True)
class InputFileUpload:
    """A file that arrived as a multipart part; stands in for an ``InputFile`` field value."""

    field: str
    filename: str
    content_type: str
    content: bytes = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (the control API never ships file bytes)."""
        return {"upload": self.filename, "field": self.field, "size": len(self.content)}


@dataclass(frozen=True, slots=True)
class LengthRule:
    """A size limit taken from a field description, e.g. "1-4096 characters after entities parsing"."""

    low: int
    high: int
    unit: str  # "characters", "bytes" or "items"
    after_entities: bool = False


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a method or type, with decoding flags precomputed for the hot path."""

    name: str
    types: tuple[str, ...]
    required: bool
    length: LengthRule | None
    accepts_int: bool
    accepts_float: bool
    accepts_bool: bool
    accepts_json: bool


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """A Bot API type: its fields, or the subtypes it stands for (e.g. BotCommandScope)."""

    name: str
    fields: dict[str, FieldSpec]
    required: tuple[str, ...]  # in documentation order, so reports are stable
    subtypes: tuple[str, ...]
    discriminator: str | None  # the literal value of its ``type`` field ("chat", "photo", ...)
    action_fields: frozenset[str]  # for button types: the fields of which one may be used


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A Bot API method: its parameters and its documented return types."""

    name: str
    fields: dict[str, FieldSpec]
    required: tuple[str, ...]  # in documentation order, so reports are stable
    returns: tuple[str, ...]


# Rules the documentation states in prose (or that the project brief pins down), by (owner, field).
# setMyCommands: "At most 100 commands" is parsed from api.json; an empty list is refused here
# because clearing the commands is what deleteMyCommands is for.
_HAND_WRITTEN: dict[tuple[str, str], LengthRule] = {
    ("setMyCommands", "commands"): LengthRule(1, 100, "items"),
}

# Integer fields that also take a fraction here.  PTB sends getUpdates' ``timeout`` as 0.5 when a
# test polls with timeout=0.5 s; Telegram's server reads the leading integer and does not refuse
# it, so reporting it would only break fast test polls.  The fake honours the fraction.
_ALSO_FLOAT = frozenset({("getUpdates", "timeout")})

# PTB 22's send/edit helper puts these into *every* message method, and ``telegram.ext.Defaults``
# fills them in, so e.g. editMessageReplyMarkup and sendLocation arrive with ``parse_mode`` and
# editMessageText with ``protect_content``.  Telegram ignores unknown parameters, so these are a
# PTB artefact rather than a bot bug: they are not reported when a method lacks them.
PTB_DEFAULTS_FIELDS = frozenset({"parse_mode", "disable_notification", "protect_content"})


def default_spec_path() -> Path:
    """Where ``shared/`` lives on every development machine and in CI: beside the project root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "telegram-bot-api" / "api.json"


def resolve_spec_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Pick the spec file: an explicit path, else ``$PARCELBOT_API_SPEC``, else the default.

    An explicit choice that is wrong is an error — we never fall back quietly to another file.
    """
    if path is not None:
        candidates = [("argument", Path(path))]
    elif os.environ.get(SPEC_ENV_VAR):
        candidates = [(f"${SPEC_ENV_VAR}", Path(os.environ[SPEC_ENV_VAR]))]
    else:
        candidates = [("default (../shared beside the project root)", default_spec_path())]
    for _, candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = "; ".join(f"{origin}: {candidate}" for origin, candidate in candidates)
    raise ApiSpecNotFoundError(
        "Telegram Bot API spec (api.json) not found, so requests cannot be validated. "
        f"Tried {tried}. Check out shared/ beside the project root or set {SPEC_ENV_VAR}=/path/to/api.json."
    )


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> ApiSpec:
    """Parse each spec file once per process (tests build many servers); mtime busts the cache."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
        raise ValueError(f"{path} does not look like the Bot API spec: no 'methods' object")
    return ApiSpec(data, source=path)


class ApiSpec:
    """The Bot API method list compiled into lookup tables, plus the request validator."""

    def __init__(self, data: Mapping[str, Any], *, source: str = "<dict>") -> None:
        self.source = source
        self.version: str = str(data.get("version", "unknown"))
        self.types: dict[str, ObjectSpec] = {
            name: _compile_type(name, raw) for name, raw in data.get("types", {}).items()
        }
        self.methods: dict[str, MethodSpec] = {
            name: _compile_method(name, raw) for name, raw in data["methods"].items()
        }
        self._type_rules: dict[str, Callable[[dict[str, Any], str, list[str]], None]] = {
            "InlineKeyboardMarkup": _check_inline_keyboard,
            "BotCommand": _check_bot_command,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ApiSpec:
        """Load (cached) from ``path``, ``$PARCELBOT_API_SPEC`` or ``../shared``; raise if missing."""
        resolved = resolve_spec_path(path)
        return _load_cached(str(resolved), resolved.stat().st_mtime_ns)

    def __repr__(self) -> str:
        return f"ApiSpec({self.version!r}, {len(self.methods)} methods, source={self.source!r})"

    # -- decoding ---------------------------------------------------------------------------------

    def decode_params(self, method: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Turn form strings into typed values as Telegram would, guided by the field types.

        PTB sends every value as a string: numbers as "42", booleans as "true", objects and arrays as
        JSON text.  A string is only decoded when the field accepts that type, so ``text="123"``
        stays a string while ``chat_id="123"`` becomes an integer.
        """
        spec = self.methods.get(method)
        fields = spec.fields if spec else {}
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str):
                fs = fields.get(name)
                value = _decode_string(value, fs) if fs else _decode_unknown(name, value)
            out[name] = value
        return out

    # -- validation -------------------------------------------------------------------------------

    def validate(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Every way ``params`` breaks the documented contract of ``method``, as "method: problem"."""
        return [f"{method}: {problem}" for problem in self.problems(method, params)]

    def problems(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Like :meth:`validate` without the method prefix (used for the 400 description)."""
        spec = self.methods.get(method)
        if spec is None:
            return [f"unknown method {method!r} (method names are case-sensitive)"]
        out: list[str] = []
        self._check_fields(spec.name, spec.fields, spec.required, params, "", out)
        return out

    def _check_fields(
        self,
        owner: str,
        fields: Mapping[str, FieldSpec],
        required: tuple[str, ...],
        values: Mapping[str, Any],
        prefix: str,
        out: list[str],
    ) -> None:
        """Required fields present, no unknown fields, each value of a documented type and size."""
        for name in required:
            if name not in values:
                out.append(f"{prefix}{name}: required field missing")
        for name, value in values.items():
            fs = fields.get(name)
            if fs is None:
                if not (prefix == "" and name in PTB_DEFAULTS_FIELDS):
                    out.append(f"{prefix}{name}: unknown field (not a parameter of {owner})")
                continue
            self._check_value(value, fs.types, prefix + name, out)
            rule = _HAND_WRITTEN.get((owner, name), fs.length)
            if rule is not None:
                _check_length(rule, name, value, values, prefix + name, out)

    def _check_value(self, value: Any, types: tuple[str, ...], path: str, out: list[str]) -> None:
        """Check ``value`` against a union of type expressions; report the closest candidate's errors."""
        candidates = [t for t in types if _kind_matches(value, t, self.types)]
        if not candidates:
            out.append(f"{path}: expected {' or '.join(types)}, got {_describe(value)}")
            return
        if isinstance(value, dict):
            candidates = self._narrow_by_discriminator(value, candidates, path, out)
            if not candidates:
                return
            # Try the object types whose field names fit the value best first, so a broken
            # InlineKeyboardMarkup is reported as such and not as "keyboard missing" for the
            # ReplyKeyboardMarkup that reply_markup may also be.
            candidates.sort(key=lambda t: self._shape_distance(value, t))
        best: list[str] | None = None
        for type_expr in candidates:
            errors: list[str] = []
            self._check_type(value, type_expr, path, errors)
            if not errors:
                return
            if best is None:
                best = errors
        out.extend(best or [])

    def _shape_distance(self, value: Mapping[str, Any], type_expr: str) -> int:
        """How many keys of ``value`` are unknown to the type plus how many required ones are missing."""
        spec = self.types.get(type_expr)
        if spec is None or spec.subtypes:
            return 0
        unknown = sum(1 for key in value if key not in spec.fields)
        return unknown + sum(1 for key in spec.required if key not in value)

    def _narrow_by_discriminator(
        self, value: Mapping[str, Any], candidates: list[str], path: str, out: list[str]
    ) -> list[str]:
        """For ``{"type": "chat", ...}`` keep only the subtypes whose ``type`` must be "chat".

        Returns no candidates (after reporting) when every subtype has a literal and none matches.
        """
        expanded = [t for c in candidates for t in self._expand_subtypes(c)]
        literals = sorted({d for t in expanded if (d := self.types[t].discriminator) is not None})
        kind = value.get("type")
        if not literals or not isinstance(kind, str):
            return expanded or candidates
        matching = [t for t in expanded if self.types[t].discriminator == kind]
        if not matching and len(literals) == len(expanded):
            out.append(f"{path}.type: {kind!r} is not one of {literals}")
            return []
        return matching or expanded

    def _expand_subtypes(self, type_expr: str) -> list[str]:
        """Object types with subtypes stand for their concrete subtypes; others for themselves."""
        spec = self.types.get(type_expr)
        if spec is None or not spec.subtypes:
            return [type_expr] if spec is not None else []
        return [t for sub in spec.subtypes for t in self._expand_subtypes(sub)]

    def _check_type(self, value: Any, type_expr: str, path: str, out: list[str]) -> None:
        """Check one type expression (its kind already matches)."""
        if type_expr in _SCALARS:
            return
        if type_expr.startswith(_ARRAY_PREFIX):
            item_type = type_expr[len(_ARRAY_PREFIX) :]
            for i, item in enumerate(value):
                self._check_value(item, (item_type,), f"{path}[{i}]", out)
            return
        spec = self.types[type_expr]
        if spec.subtypes:
            self._check_value(value, spec.subtypes, path, out)
            return
        if spec.discriminator is not None and value.get("type", spec.discriminator) != spec.discriminator:
            out.append(f"{path}.type: must be {spec.discriminator!r} for {spec.name}, got {value['type']!r}")
        self._check_fields(spec.name, spec.fields, spec.required, value, path + ".", out)
        if spec.action_fields:
            _check_one_action(spec, value, path, out)
        rule = self._type_rules.get(spec.name)
        if rule is not None:
            rule(value, path, out)


# -- compiling api.json ---------------------------------------------------------------------------


def _compile_field(raw: Mapping[str, Any]) -> FieldSpec:
    """Precompute how to decode and size-check one field."""
    types = tuple(raw.get("types", ()))
    return FieldSpec(
        name=raw["name"],
        types=types,
        required=bool(raw.get("required")),
        length=_parse_length(raw.get("description", ""), types),
        accepts_int="Integer" in types,
        accepts_float="Float" in types,
        accepts_bool="Boolean" in types,
        accepts_json=any(t not in _SCALARS for t in types),
    )


def _parse_length(description: str, types: tuple[str, ...]) -> LengthRule | None:
    """Read "1-4096 characters ..." or "At most 100 ... can be specified" from a description."""
    match = _RANGE_RE.search(description)
    if match:
        unit = match.group(3)
        unit = "items" if unit in ("items", "elements", "identifiers") else unit
        after_entities = bool(_AFTER_ENTITIES_RE.search(description, match.end()))
        return LengthRule(int(match.group(1)), int(match.group(2)), unit, after_entities)
    match = _AT_MOST_RE.search(description)
    if match and any(t.startswith(_ARRAY_PREFIX) for t in types):
        return LengthRule(0, int(match.group(1)), "items")
    return None


def _compile_type(name: str, raw: Mapping[str, Any]) -> ObjectSpec:
    """Compile a type: fields, subtypes, its ``type`` literal and, for buttons, the action fields."""
    fields = {f["name"]: _compile_field(f) for f in raw.get("fields", ())}
    discriminator = None
    type_field = next((f for f in raw.get("fields", ()) if f["name"] == "type"), None)
    if type_field is not None and raw.get("subtype_of"):
        match = _DISCRIMINATOR_RE.search(type_field.get("description", ""))
        discriminator = match.group(1) if match else None
    action_fields: frozenset[str] = frozenset()
    other_than = _OTHER_THAN_RE.search(" ".join(raw.get("description", ())))
    if other_than:
        passive = {w for w in re.split(r",\s*|\s+and\s+|\s+", other_than.group(1)) if w and w != "and"}
        action_fields = frozenset(fields) - passive
    return ObjectSpec(
        name=name,
        fields=fields,
        required=tuple(n for n, f in fields.items() if f.required),
        subtypes=tuple(raw.get("subtypes", ())),
        discriminator=discriminator,
        action_fields=action_fields,
    )


def _compile_method(name: str, raw: Mapping[str, Any]) -> MethodSpec:
    fields = {f["name"]: _compile_field(f) for f in raw.get("fields", ())}
    for owner, field_name in _ALSO_FLOAT:
        if owner == name and field_name in fields:
            fs = fields[field_name]
            fields[field_name] = replace(fs, types=(*fs.types, "Float"), accepts_float=True)
    return MethodSpec(
        name=name,
        fields=fields,
        required=tuple(n for n, f in fields.items() if f.required),
        returns=tuple(raw.get("returns", ())),
    )


# -- decoding helpers -----------------------------------------------------------------------------


def _decode_string(value: str, fs: FieldSpec) -> Any:
    """Decode one form value for a known field; leave it a string when no accepted type fits."""
    if fs.accepts_int and _INT_RE.fullmatch(value):
        return int(value)
    if fs.accepts_float:
        try:
            return float(value)
        except ValueError:
            pass
    if fs.accepts_bool and value in ("true", "false"):
        return value == "true"
    if fs.accepts_json and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _decode_unknown(name: str, value: str) -> Any:
    """Best-effort decoding for fields the spec does not know (they are reported anyway)."""
    if name in GENERIC_INT_FIELDS and _INT_RE.fullmatch(value):
        return int(value)
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# Without the spec (the sandbox on a machine without ../shared): these names hold JSON objects or
# arrays; every other value stays a string unless it is an id-like integer or true/false.
_LOOSE_JSON_FIELDS = frozenset(
    {
        "reply_markup", "reply_parameters", "link_preview_options", "entities", "caption_entities",
        "commands", "scope", "message_ids", "allowed_updates", "media",
    }
)  # fmt: skip
_LOOSE_TEXT_FIELDS = frozenset({"text", "caption", "description", "short_description", "name", "url"})


def decode_without_spec(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode form values without api.json: ids to integers, known object fields from JSON, booleans."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str) and name not in _LOOSE_TEXT_FIELDS:
            if name in _LOOSE_JSON_FIELDS:
                value = _decode_unknown(name, value)
            elif name in GENERIC_INT_FIELDS and _INT_RE.fullmatch(value):
                value = int(value)
            elif name == "timeout" and re.fullmatch(r"\d+\.\d*", value):
                value = float(value)  # PTB sends a fractional long-poll timeout as "0.5"
            elif value in ("true", "false"):
                value = value == "true"
        out[name] = value
    return out


# -- type and size checks -------------------------------------------------------------------------


def _kind_matches(value: Any, type_expr: str, types: Mapping[str, ObjectSpec]) -> bool:
    """Shallow check: is ``value`` the right kind of JSON value for ``type_expr``?"""
    if type_expr == "Integer":
        return type(value) is int
    if type_expr == "String":
        return isinstance(value, str)
    if type_expr == "Boolean":
        return isinstance(value, bool)
    if type_expr == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_expr == "InputFile":
        return isinstance(value, InputFileUpload)
    if type_expr.startswith(_ARRAY_PREFIX):
        return isinstance(value, list)
    spec = types.get(type_expr)
    if spec is not None and spec.subtypes:
        return any(_kind_matches(value, sub, types) for sub in spec.subtypes)
    return isinstance(value, dict)


def _describe(value: Any) -> str:
    """A short human description of a wrong value for error messages."""
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{type(value).__name__} {shown}"


def _check_length(
    rule: LengthRule, name: str, value: Any, siblings: Mapping[str, Any], path: str, out: list[str]
) -> None:
    """Apply a documented size limit.

    Characters are counted as ``len(str)``, i.e. Unicode code points, which is what Telegram's
    server (tdlib's ``utf8_length``) counts; "after entities parsing" means HTML markup is removed
    first when the sibling parse mode is HTML.  MarkdownV2 markup is counted as written, which can
    only over-count.
    """
    if rule.unit == "items":
        if isinstance(value, list) and not rule.low <= len(value) <= rule.high:
            out.append(f"{path}: must have {rule.low}-{rule.high} items, got {len(value)}")
        return
    if not isinstance(value, str):
        return
    if rule.unit == "bytes":
        size = len(value.encode("utf-8"))
    else:
        text = value
        if rule.after_entities and _parse_mode_of(name, siblings) == "html":
            text, error = parse_html(value)
            if error:
                out.append(f"{path}: can't parse entities: {error}")
                return
        size = len(text)
    if not rule.low <= size <= rule.high:
        out.append(f"{path}: must be {rule.low}-{rule.high} {rule.unit}, got {size}")


def _parse_mode_of(name: str, siblings: Mapping[str, Any]) -> str:
    """``text``/``caption`` use ``parse_mode``; ``quote`` uses ``quote_parse_mode`` etc."""
    key = "parse_mode" if name in ("text", "caption", "message_text") else f"{name}_parse_mode"
    mode = siblings.get(key)
    return mode.lower() if isinstance(mode, str) else ""


def parse_html(text: str) -> tuple[str, str | None]:
    """Return (visible text, error) for Telegram's HTML parse mode.

    Telegram refuses unknown tags, a bare ``<`` and unbalanced tags ("can't parse entities"); a bot
    that puts user input into HTML without escaping breaks exactly like this in production.
    """
    visible: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        visible.append(text[pos:start])
        offset = len(text[:start].encode("utf-8"))
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            name = re.match(r"/?([^\s<>/]*)", text[start + 1 :])
            return "", f'Unsupported start tag "{name.group(1) if name else ""}" at byte offset {offset}'
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in _HTML_TAGS:
            kind = "end" if closing else "start"
            return "", f'Unsupported {kind} tag "{tag}" at byte offset {offset}'
        if not closing:
            stack.append(tag)
        elif not stack or stack[-1] != tag:
            expected = f'expected "</{stack[-1]}>", ' if stack else ""
            return "", f'Unmatched end tag at byte offset {offset}, {expected}found "</{tag}>"'
        else:
            stack.pop()
        pos = match.end()
    if stack:
        return "", f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    visible.append(text[pos:])
    return html.unescape("".join(visible)), None


def visible_text(text: str, parse_mode: str | None) -> str:
    """What the user sees: HTML markup removed; other parse modes shown as written."""
    if parse_mode and parse_mode.lower() == "html":
        shown, error = parse_html(text)
        return text if error else shown
    return text


def _check_one_action(spec: ObjectSpec, value: Mapping[str, Any], path: str, out: list[str]) -> None:
    """InlineKeyboardButton: "Exactly one of the fields other than text ... must be used"."""
    used = sorted(name for name in value if name in spec.action_fields)
    if spec.name == "InlineKeyboardButton" and len(used) != 1:
        out.append(f"{path}: a button needs exactly one action field, got {used or 'none'}")
    elif len(used) > 1:
        out.append(f"{path}: at most one action field may be used, got {used}")


def _check_inline_keyboard(value: Mapping[str, Any], path: str, out: list[str]) -> None:
    """Rows must be non-empty lists (an empty row is refused by Telegram)."""
    rows = value.get("inline_keyboard")
    if isinstance(rows, list):
        for i, row in enumerate(rows):
            if isinstance(row, list) and not row:
                out.append(f"{path}.inline_keyboard[{i}]: empty button row")


def _check_bot_command(value: Mapping[str, Any], path: str, out: list[str]) -> None:
    """BotCommand.command: "Can contain only lowercase English letters, digits and underscores"."""
    command = value.get("command")
    if isinstance(command, str) and not _COMMAND_RE.fullmatch(command):
        out.append(f"{path}.command: must be 1-32 of [a-z0-9_], got {command!r}")
