"""``python -m tests.fake_bot_api`` still works: it runs ``python -m bot.emulator``."""

import sys

from bot.emulator.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
