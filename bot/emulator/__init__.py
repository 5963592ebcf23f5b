"""A local Telegram Bot API emulator: the tests' fake server and the engine of `parcelbot sandbox`.

It speaks real HTTP on loopback so the real python-telegram-bot Application runs unchanged against it;
nothing leaves the machine. See ``server.py`` for the server and ``spec.py`` for request validation.
"""

from .server import DEFAULT_BOT_ID, DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, FAULT_KINDS, ApiError, Call, FakeBotApi
from .spec import SPEC_ENV_VAR, ApiSpec, ApiSpecNotFoundError, InputFileUpload

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USERNAME",
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
