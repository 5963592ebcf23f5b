"""Run the Bot API emulator as its own process: ``python -m bot.emulator --port N``.

Prints ``READY <port>`` on stdout once it listens (a benchmark or the sandbox waits for that line),
then serves until SIGINT/SIGTERM.  Drive it through the ``/_control/`` endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import DEFAULT_BOT_ID, DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, FakeBotApi
from .spec import ApiSpec


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed in READY)")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument("--bot-id", type=int, default=DEFAULT_BOT_ID)
    parser.add_argument(
        "--spec", default=None, help="path to api.json (default: $PARCELBOT_API_SPEC or ../shared)"
    )
    parser.add_argument(
        "--max-calls", type=int, default=50_000, help="keep at most this many recorded calls (memory bound)"
    )
    parser.add_argument(
        "--max-messages-per-chat", type=int, default=1_000, help="older messages scroll out of memory"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    api = FakeBotApi(
        token=args.token,
        bot_username=args.bot_username,
        spec=ApiSpec.load(args.spec),
        bot_id=args.bot_id,
        host=args.host,
        port=args.port,
        max_calls=args.max_calls,
        max_messages_per_chat=args.max_messages_per_chat,
    )
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {api.port}", flush=True)
    print(f"fake Bot API at {api.base_url} (spec {api.spec.version if api.spec else 'off'})", file=sys.stderr,
          flush=True)
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_serve(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
