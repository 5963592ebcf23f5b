"""Settings: a TOML file plus environment overrides, checked once into one frozen object.

Every problem names the key and what is wrong, in one line, so an operator can fix it without reading
code. The token and the passphrase are held in `Secret`, whose repr never shows the value.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
TOKEN_SHAPE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
LANGUAGES = ("en", "ru", "be")
# Telegram delivers webhooks only to these ports, and accepts a secret token of 1-256 of these characters;
# we ask for at least 32 so it cannot be guessed.
WEBHOOK_PORTS = (443, 80, 88, 8443)
SECRET_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class Secret:
    """A string that never prints itself (token, passphrase)."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret([secure])"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    timezone: str = "Europe/Minsk"
    token: Secret | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    bot_username: str = ""
    passphrase: Secret | None = None
    passphrase_file: Path | None = None
    kdf_cost: int = 17
    database_engine: str = "inline"
    log_level: str = "INFO"
    default_language: str = "ru"
    invite_hours: int = 72
    trial_runs: int = 2
    commands_per_minute: int = 20
    list_views_per_hour: int = 60
    claims_per_day: int = 6
    bad_codes_per_hour: int = 5
    audit_retention_days: int = 90
    run_retention_days: int = 14
    request_retention_days: int = 30
    callback_ttl_hours: int = 48
    claim_cap: int = 2
    checkin_grace_hours: int = 4
    second_alert_hours: int = 2
    plan_weekday: int = 6
    plan_time: str = "18:00"
    digest_weekday: int = 0
    digest_time: str = "09:00"
    lockdown_stops_process: bool = False
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_public_url: str = ""
    webhook_path: str = "/telegram"
    webhook_secret: Secret | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "parcelbot.db"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> Secret:
        if not self.token:
            raise ConfigError("telegram.token: missing; set PARCELBOT_TOKEN or telegram.token_file")
        return self.token

    def require_webhook_url(self) -> str:
        if not self.webhook_public_url:
            raise ConfigError("webhook.public_url: missing; `run --webhook` needs the https URL Telegram posts to")
        return self.webhook_public_url


# (section, key) -> (field name, kind). Kinds are checked by _coerce.
_SETTINGS: dict[tuple[str, str], tuple[str, str]] = {
    ("telegram", "token_file"): ("token_file", "path"),
    ("telegram", "api_base_url"): ("api_base_url", "url"),
    ("telegram", "bot_username"): ("bot_username", "username"),
    ("storage", "data_dir"): ("data_dir", "path"),
    ("storage", "passphrase_file"): ("passphrase_file", "path"),
    ("storage", "kdf_cost"): ("kdf_cost", "int:10:22"),
    ("storage", "database_engine"): ("database_engine", "database_engine"),
    ("general", "timezone"): ("timezone", "timezone"),
    ("general", "log_level"): ("log_level", "level"),
    ("general", "default_language"): ("default_language", "language"),
    ("members", "invite_hours"): ("invite_hours", "int:1:720"),
    ("members", "trial_runs"): ("trial_runs", "int:0:100"),
    ("limits", "commands_per_minute"): ("commands_per_minute", "int:1:1000"),
    ("limits", "list_views_per_hour"): ("list_views_per_hour", "int:1:10000"),
    ("limits", "claims_per_day"): ("claims_per_day", "int:1:1000"),
    ("limits", "bad_codes_per_hour"): ("bad_codes_per_hour", "int:1:1000"),
    ("retention", "audit_days"): ("audit_retention_days", "int:1:3650"),
    ("retention", "run_days"): ("run_retention_days", "int:1:3650"),
    ("retention", "request_days"): ("request_retention_days", "int:1:3650"),
    ("security", "callback_ttl_hours"): ("callback_ttl_hours", "int:1:720"),
    ("runs", "claim_cap"): ("claim_cap", "int:1:20"),
    ("runs", "checkin_grace_hours"): ("checkin_grace_hours", "int:1:48"),
    ("runs", "second_alert_hours"): ("second_alert_hours", "int:1:48"),
    ("runs", "plan_weekday"): ("plan_weekday", "int:0:6"),
    ("runs", "plan_time"): ("plan_time", "clock_time"),
    ("reports", "digest_weekday"): ("digest_weekday", "int:0:6"),
    ("reports", "digest_time"): ("digest_time", "clock_time"),
    ("security", "lockdown_stops_process"): ("lockdown_stops_process", "bool"),
    ("webhook", "listen"): ("webhook_listen", "host"),
    ("webhook", "port"): ("webhook_port", "int:1:65535"),
    ("webhook", "public_url"): ("webhook_public_url", "https_url"),
    ("webhook", "path"): ("webhook_path", "url_path"),
    ("webhook", "secret_token_file"): ("webhook_secret_file", "path"),
}

_ENV: dict[str, tuple[str, str, str]] = {
    "PARCELBOT_DATA_DIR": ("storage.data_dir", "data_dir", "path"),
    "PARCELBOT_API_BASE_URL": ("telegram.api_base_url", "api_base_url", "url"),
    "PARCELBOT_TIMEZONE": ("general.timezone", "timezone", "timezone"),
    "PARCELBOT_LOG_LEVEL": ("general.log_level", "log_level", "level"),
    "PARCELBOT_BOT_USERNAME": ("telegram.bot_username", "bot_username", "username"),
    "PARCELBOT_KDF_COST": ("storage.kdf_cost", "kdf_cost", "int:10:22"),
    # Paths to secret files (Docker secrets under /run/secrets, systemd credentials under $CREDENTIALS_DIRECTORY).
    "PARCELBOT_PASSPHRASE_FILE": ("storage.passphrase_file", "passphrase_file", "path"),
    "PARCELBOT_TOKEN_FILE": ("telegram.token_file", "token_file", "path"),
}


def _coerce(key: str, kind: str, raw: object, base: Path) -> object:
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(f"{key}: expected true or false, got {raw!r}")
        return raw
    if kind.startswith("int:"):
        _, low, high = kind.split(":")
        try:
            number = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a whole number, got {raw!r}") from None
        if isinstance(raw, bool) or not int(low) <= number <= int(high):
            raise ConfigError(f"{key}: must be between {low} and {high}, got {raw!r}")
        return number
    if not isinstance(raw, str):
        raise ConfigError(f"{key}: expected text, got {type(raw).__name__}")
    if kind == "path":
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (base / path)
    if kind == "url":
        if not re.match(r"^https?://[^\s]+$", raw):
            raise ConfigError(f"{key}: expected an http(s) URL, got {raw!r}")
        return raw.rstrip("/")
    if kind == "username":
        if raw and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", raw.lstrip("@")):
            raise ConfigError(f"{key}: expected a Telegram bot username, got {raw!r}")
        return raw.lstrip("@")
    if kind == "timezone":
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{key}: unknown time zone {raw!r} (e.g. Europe/Minsk)") from None
        return raw
    if kind == "level":
        if raw.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"{key}: expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
        return raw.upper()
    if kind == "host":
        if not _is_host(raw):
            raise ConfigError(f"{key}: expected an address to listen on such as 127.0.0.1, got {raw!r}")
        return raw
    if kind == "https_url":
        return _https_url(key, raw)
    if kind == "url_path":
        if not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,200}", raw):
            raise ConfigError(f"{key}: expected a path such as /telegram (letters, digits, / . _ ~ -), got {raw!r}")
        return raw
    if kind == "clock_time":
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", raw):
            raise ConfigError(f"{key}: expected a time of day such as 18:00, got {raw!r}")
        return raw
    if kind == "database_engine":
        if raw not in ("inline", "thread"):
            raise ConfigError(f"{key}: expected inline or thread, got {raw!r}")
        return raw
    if kind == "language":
        if raw not in LANGUAGES:
            raise ConfigError(f"{key}: expected one of {', '.join(LANGUAGES)}, got {raw!r}")
        return raw
    raise AssertionError(kind)


def _is_host(raw: str) -> bool:
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        return bool(_HOSTNAME.match(raw))
    return True


def _https_url(key: str, raw: str) -> str:
    if raw == "":
        return raw  # unset: only `run --webhook` needs it
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{key}: expected an https URL, got {raw!r}") from None
    if parts.scheme != "https" or not parts.hostname or re.search(r"\s", raw):
        raise ConfigError(f"{key}: expected an https URL such as https://bot.example.org/telegram, got {raw!r}")
    if port is not None and port not in WEBHOOK_PORTS:
        raise ConfigError(f"{key}: Telegram only delivers to ports 443, 80, 88 or 8443, got {port}")
    return raw


def _read_webhook_secret(key: str, path: Path) -> Secret:
    secret = _read_secret_file(key, path)
    if not SECRET_TOKEN_SHAPE.match(secret.value):
        # Never echo the file's content: it is a credential.
        raise ConfigError(f"{key}: {path} must hold 32-256 characters of A-Z, a-z, 0-9, _ and -")
    return secret


def _read_secret_file(key: str, path: Path) -> Secret:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{key}: cannot read {path}: {error.strerror}") from None
    if not text:
        raise ConfigError(f"{key}: {path} is empty")
    return Secret(text)


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the TOML file (if any) and the environment; raise ConfigError naming the first bad key."""
    env = dict(os.environ if environ is None else environ)
    if path is None and env.get("PARCELBOT_CONFIG"):
        path = Path(env["PARCELBOT_CONFIG"])
    values: dict[str, object] = {}
    base = Path.cwd()
    token_inline: str | None = None
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"--config: file not found: {path}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"--config: {path} is not valid TOML ({error})") from None
        base = path.resolve().parent
        for section, table in document.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{section}: expected a [section], got a value")
            for key, raw in table.items():
                name = f"{section}.{key}"
                if (section, key) == ("telegram", "token"):
                    if not isinstance(raw, str):
                        raise ConfigError(f"{name}: expected text")
                    token_inline = raw
                    continue
                if (section, key) not in _SETTINGS:
                    raise ConfigError(f"{name}: unknown setting")
                field_name, kind = _SETTINGS[(section, key)]
                if kind == "path" and raw == "":
                    continue
                values[field_name] = _coerce(name, kind, raw, base)
    # Which setting each secret file came from, so an unreadable one is named as the operator wrote it.
    file_keys = {"token_file": "telegram.token_file", "passphrase_file": "storage.passphrase_file"}
    for variable, (_name, field_name, kind) in _ENV.items():
        if env.get(variable):
            values[field_name] = _coerce(variable, kind, env[variable], Path.cwd())
            file_keys[field_name] = variable

    # Precedence: PARCELBOT_TOKEN, then PARCELBOT_TOKEN_FILE, then telegram.token, then telegram.token_file.
    token: Secret | None = None
    token_key = "PARCELBOT_TOKEN"  # noqa: S105 - the name of a setting, not a secret
    token_file = values.pop("token_file", None)
    if env.get("PARCELBOT_TOKEN"):
        token = Secret(env["PARCELBOT_TOKEN"].strip())
    elif token_inline and not env.get("PARCELBOT_TOKEN_FILE"):
        token, token_key = Secret(token_inline.strip()), "telegram.token"
    elif token_file is not None:
        token_key = file_keys["token_file"]
        token = _read_secret_file(token_key, token_file)  # type: ignore[arg-type]
    if token is not None and not TOKEN_SHAPE.match(token.value):
        raise ConfigError(f"{token_key}: does not look like a bot token (digits:letters)")

    passphrase: Secret | None = None
    if env.get("PARCELBOT_PASSPHRASE"):
        passphrase = Secret(env["PARCELBOT_PASSPHRASE"])
    elif "passphrase_file" in values:
        passphrase = _read_secret_file(file_keys["passphrase_file"], values["passphrase_file"])  # type: ignore[arg-type]

    webhook_secret: Secret | None = None
    if "webhook_secret_file" in values:
        secret_file = values.pop("webhook_secret_file")
        webhook_secret = _read_webhook_secret("webhook.secret_token_file", secret_file)  # type: ignore[arg-type]

    values.setdefault("data_dir", Path.cwd() / "data")
    return Config(token=token, passphrase=passphrase, webhook_secret=webhook_secret, **values)  # type: ignore[arg-type]
