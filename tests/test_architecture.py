"""Structural promises: where `telegram` may be imported, log levels, token redaction, no pickle."""

from __future__ import annotations

import ast
import io
import logging
from pathlib import Path

from bot.logs import QUIET_LOGGERS, RedactTokens, configure_logging, redact

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAH-very-secret-token-value-abcdefghijk"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_telegram_is_not_imported_below_the_handlers():
    lower = [*ROOT.glob("storage/**/*.py"), *ROOT.glob("bot/services/**/*.py"), ROOT / "bot" / "domain.py",
             ROOT / "bot" / "config.py", ROOT / "bot" / "clock.py", ROOT / "bot" / "i18n.py"]
    offenders = [str(path.relative_to(ROOT)) for path in lower if "telegram" in _imports(path)]
    assert offenders == []


def test_crypto_primitives_live_only_in_storage_crypto():
    offenders = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py"), *ROOT.glob("storage/**/*.py"),
                 *ROOT.glob("schedules/**/*.py")]:
        if path.name == "crypto.py" and path.parent.name == "storage":
            continue
        if "cryptography" in _imports(path):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_nothing_is_pickled():
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py"), *ROOT.glob("storage/**/*.py"),
                 *ROOT.glob("schedules/**/*.py")]:
        assert "pickle" not in _imports(path), path
        assert "PicklePersistence" not in path.read_text(encoding="utf-8"), path


def test_chatty_loggers_are_held_at_warning_in_production_configuration():
    handler = configure_logging("DEBUG", io.StringIO())
    try:
        for name in ("httpx", "httpcore", "telegram", "aiosqlite", "apscheduler"):
            assert name in QUIET_LOGGERS
            assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    finally:
        logging.getLogger().removeHandler(handler)


def test_the_redaction_filter_removes_token_shaped_strings():
    assert TOKEN not in redact(f"POST https://api.telegram.org/bot{TOKEN}/getMe")
    stream = io.StringIO()
    handler = configure_logging("INFO", stream)
    try:
        logging.getLogger("parcelbot.test").info("url %s", f"https://x/bot{TOKEN}/sendMessage")
        logging.getLogger("parcelbot.test").warning(f"inline {TOKEN}")
        try:
            raise ValueError(f"boom {TOKEN}")
        except ValueError:
            logging.getLogger("parcelbot.test").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output and "very-secret" not in output
    assert "[token]" in output and "ValueError" in output
    assert isinstance(RedactTokens(), logging.Filter)
