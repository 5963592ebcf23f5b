"""Re-export of bot.emulator.server, for code that imports ``tests.fake_bot_api.server``."""

from bot.emulator.server import *  # noqa: F403
