"""Re-export of bot.emulator.spec, for tests that import ``tests.fake_bot_api.spec``."""

from bot.emulator.spec import *  # noqa: F403
from bot.emulator.spec import SPEC_ENV_VAR, default_spec_path, resolve_spec_path  # noqa: F401 - explicit names
