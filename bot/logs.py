"""Logging that records events and internal ids, never identities, text or the token."""

from __future__ import annotations

import logging
import re

# Loggers that would print URLs (with the token), update payloads or SQL if allowed to chatter.
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp", "telegram", "telegram.ext", "aiosqlite", "apscheduler", "tornado",
                 "matplotlib", "PIL")  # the last two: font lookups and PNG chunks at DEBUG, for every chart
# Same shape the config accepts for a token (digits, colon, 20+ URL-safe characters): broader than real
# tokens on purpose, since a false positive only hides a harmless string.
TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    return TOKEN_PATTERN.sub("[token]", text)


class RedactTokens(logging.Filter):
    """Replace anything shaped like a bot token, in the message and in its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
            else:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text may quote a URL with the token; keep the type, drop the traceback text.
            error = record.exc_info[1]
            record.msg = f"{record.msg} [{type(error).__name__}]"
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: str = "INFO", stream=None) -> logging.Handler:
    root = logging.getLogger()
    root.setLevel(level)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root.handlers[:] = [handler]
    quiet()
    return handler


def quiet() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
