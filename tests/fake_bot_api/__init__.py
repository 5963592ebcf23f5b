"""A fake Telegram Bot API server for tests and the terminal sandbox (see ``server.py``)."""

from .server import DEFAULT_BOT_ID, DEFAULT_TOKEN, FAULT_KINDS, ApiError, Call, FakeBotApi
from .spec import SPEC_ENV_VAR, ApiSpec, ApiSpecNotFoundError, InputFileUpload

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "SPEC_ENV_VAR",
    "ApiError",
    "ApiSpec",
    "ApiSpecNotFoundError",
    "Call",
    "FakeBotApi",
    "InputFileUpload",
]
