"""The tests' fake Telegram Bot API: the emulator now lives in the package (bot/emulator); this re-exports it."""

from bot.emulator import (
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USERNAME,
    DEFAULT_TOKEN,
    FAULT_KINDS,
    SPEC_ENV_VAR,
    ApiError,
    ApiSpec,
    ApiSpecNotFoundError,
    Call,
    FakeBotApi,
    InputFileUpload,
)

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
