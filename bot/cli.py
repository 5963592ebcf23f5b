"""parcelbot: the operator's command line.

Exit codes: 0 done, 1 failed, 2 bad configuration (one line naming the key), 3 wrong passphrase,
4 no database (run `parcelbot init`), 5 refused (e.g. init over an existing database).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot import cli_maintenance as maintenance_commands
from bot import cli_stats as stats_commands
from bot.clock import SystemClock
from bot.config import Config, ConfigError, load_config
from bot.domain import Role
from bot.logs import configure_logging, redact
from storage.crypto import KdfParams, WrongPassphrase
from storage.db import DatabaseError
from storage.lock import DataDirBusy, exclusive
from storage.store import Store, StoreExists, StoreMissing

log = logging.getLogger("parcelbot")

EXIT_FAILED, EXIT_CONFIG, EXIT_PASSPHRASE, EXIT_MISSING, EXIT_REFUSED = 1, 2, 3, 4, 5


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _passphrase(config: Config, *, confirm: bool = False) -> str:
    if config.passphrase:
        return config.passphrase.value
    if not sys.stdin.isatty():
        raise CliError(
            "passphrase: missing; set storage.passphrase_file (or PARCELBOT_PASSPHRASE_FILE, PARCELBOT_PASSPHRASE),"
            " or run in a terminal to be asked",
            EXIT_CONFIG,
        )
    first = getpass.getpass("Passphrase: ")
    if not first and not confirm:
        raise CliError("passphrase: nothing was typed; nothing was opened or changed", EXIT_PASSPHRASE)
    if confirm:
        if len(first) < 12:
            raise CliError("passphrase: use at least 12 characters (a few random words is best)", EXIT_REFUSED)
        if getpass.getpass("Passphrase again: ") != first:
            raise CliError("passphrase: the two entries differ", EXIT_REFUSED)
    return first


@contextmanager
def holding_data_dir(config: Config, doing: str, *, create: bool = False) -> Iterator[None]:
    """The data directory to this process alone (storage/lock.py), or a refusal naming why. A directory
    that does not exist holds nothing to protect: it is made only for commands that fill it (`create`);
    for the others the command itself then says there is no database."""
    try:
        if create:
            config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        elif not config.data_dir.is_dir():
            yield
            return
        with exclusive(config.data_dir):
            yield
    except DataDirBusy:
        raise CliError(f"{doing}: another parcelbot process is using {config.data_dir} (the running bot? stop it "
                       "first)", EXIT_REFUSED) from None
    except PermissionError:
        raise CliError(f"{doing}: no access to {config.data_dir} (run as the bot's user)", EXIT_FAILED) from None


async def open_store(config: Config, passphrase: str | None = None) -> Store:
    """The database, unlocked with `passphrase` (asked for, or read from the configuration, if None)."""
    try:
        return await Store.unlock(config.database_path, _passphrase(config) if passphrase is None else passphrase,
                                  clock=SystemClock(), engine=config.database_engine)
    except StoreMissing:
        raise CliError(f"no database at {config.database_path}; run `parcelbot init` first", EXIT_MISSING) from None
    except WrongPassphrase:
        raise CliError("wrong passphrase: nothing was opened or changed", EXIT_PASSPHRASE) from None
    except DatabaseError as error:
        raise CliError(f"database: {error}", EXIT_FAILED) from None


async def cmd_init(config: Config, args: argparse.Namespace) -> int:
    with holding_data_dir(config, "init", create=True):  # not beside a restore into the same directory
        return await _init(config)


async def _init(config: Config) -> int:
    if config.data_dir.stat().st_mode & 0o077:
        # mkdir leaves an existing directory as it was: nobody else on the machine lists it either.
        try:
            config.data_dir.chmod(0o700)
        except PermissionError:
            raise CliError(f"{config.data_dir} is open to other users and not ours to change; "
                           "make it the bot user's, mode 0700", EXIT_REFUSED) from None
    if config.database_path.exists():
        raise CliError(f"a database already exists at {config.database_path}; init will not overwrite it",
                       EXIT_REFUSED)
    passphrase = _passphrase(config, confirm=True)
    try:
        store = await Store.create(config.database_path, passphrase, kdf=KdfParams(n=2**config.kdf_cost, r=8, p=1))
    except StoreExists:
        raise CliError(f"a database already exists at {config.database_path}", EXIT_REFUSED) from None
    await store.close()
    config.database_path.chmod(0o600)
    print(f"Created an encrypted database at {config.database_path}.")
    print("Next: `parcelbot invite --role coordinator` and open the link in Telegram.")
    return 0


async def cmd_invite(config: Config, args: argparse.Namespace) -> int:
    from bot.services.onboarding import create_invite

    hours = config.invite_hours if args.hours is None else args.hours
    if not 1 <= hours <= 720:
        raise CliError("--hours: must be between 1 and 720", EXIT_CONFIG)
    store = await open_store(config)
    try:
        new = await create_invite(store, Role(args.role), hours=hours, created_by=None)
        async with store.read() as uow:
            username = config.bot_username or await uow.meta.get_sealed("bot_username")
    finally:
        await store.close()
    print(f"One-time {new.role.value} invite, valid until {new.expires_at:%Y-%m-%d %H:%M} UTC.")
    print(f"Code: {new.code}")
    if username:
        print(f"Link: {new.link(username)}")
    else:
        print("Link: https://t.me/<your bot>?start=" + new.code + "  (the bot learns its name on first run)")
    return 0


async def cmd_check(config: Config, args: argparse.Namespace) -> int:
    store = await open_store(config)  # a damaged file stops here, with what quick_check found
    try:
        result = await store.db.quick_check()
        async with store.read() as uow:
            counts = await uow.counts()
    finally:
        await store.close()
    print(f"integrity: {result}")
    for table, count in counts.items():
        print(f"{table}: {count}")
    return 0 if result == "ok" else EXIT_FAILED


async def cmd_run(config: Config, args: argparse.Namespace) -> int:
    token = config.require_token().value
    if args.webhook:
        config.require_webhook_url()  # before the passphrase prompt and the slow KDF, not after
    with holding_data_dir(config, "run"):
        return await _run(config, args, token)


async def _run(config: Config, args: argparse.Namespace, token: str) -> int:
    from bot.app import build_application, make_runtime

    store = await open_store(config)  # refuses a damaged file (Database.open runs quick_check first)
    application = build_application(make_runtime(config, store))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(application, config, stop, webhook=args.webhook)
    except CliError:
        raise
    except Exception as error:  # noqa: BLE001
        # One line instead of a traceback in journald: PTB's InvalidToken quotes the token itself
        # ("The token `...` was rejected by the server."), so the text is redacted twice over.
        text = redact(str(error)).replace(token, "[token]")
        raise CliError(f"stopped: {type(error).__name__}: {text}", EXIT_FAILED) from None
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        # When getMe fails (a rejected token, no network) PTB's Application never counted itself
        # initialized and skips the bot's shutdown: close the HTTP sessions here (a no-op otherwise).
        await application.bot.shutdown()
        await store.close()
    return 0


async def serve(application: Any, config: Config, stop: asyncio.Event, *, webhook: bool = False) -> None:
    """Run the Application (built by bot.app) until `stop` is set: long polling, or webhook mode.

    Polling needs no open port and is the default. In webhook mode bot/webhook.py listens on
    webhook.listen:port behind a TLS-terminating proxy and checks Telegram's secret on every request.
    """
    # /lockdown with security.lockdown_stops_process ends the process through this (handlers/lockdown.py).
    application.bot_data["runtime"].extras["request_stop"] = stop.set
    async with application:  # initialize() ... shutdown()
        await application.post_init(application)
        await application.start()
        receiver = None
        try:
            if webhook:
                receiver = await _start_receiver(application, config)
            else:
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("bot running (%s)", "webhook" if webhook else "long polling")
            # What start-up built (modules, translations, handlers, caches) lives as long as the
            # process: keep it out of the garbage collector's full passes, which otherwise walk it
            # all and paused the bot for up to ~50 ms under load.
            gc.collect()
            gc.freeze()
            await stop.wait()
            log.info("stopping")
        finally:
            # Stop taking updates first; Application.stop() then finishes those already queued.
            if receiver is not None:
                await receiver.stop()
            if application.updater.running:
                await application.updater.stop()
            await application.stop()
            await _keep_recent(application)


async def _keep_recent(application: Any) -> None:
    from bot.app import keep_recent_for_restart

    try:
        await keep_recent_for_restart(application)
    except Exception as error:  # noqa: BLE001 - a stop must finish; only a later /panic deletes less
        log.warning("recent message ids not kept: %s", type(error).__name__)


async def _start_receiver(application: Any, config: Config) -> Any:
    from bot.webhook import start_webhook
    from handlers.webhook import update_sink

    try:
        return await start_webhook(application.bot, config, update_sink(application), ALLOWED_UPDATES)
    except OSError as error:
        where = f"{config.webhook_listen}:{config.webhook_port}"
        raise CliError(f"webhook.port: cannot listen on {where} ({error.strerror})", EXIT_CONFIG) from None
    except Exception as error:  # noqa: BLE001 - telegram's errors are not importable here (see architecture)
        raise CliError(f"webhook: setWebhook failed: {redact(str(error))}", EXIT_FAILED) from None


async def cmd_facilities(config: Config, args: argparse.Namespace) -> int:
    """`parcelbot facilities import FILE.toml`: validate every entry, then import all in one transaction."""
    import tomllib

    from bot.services.facilities import ImportInvalid, import_facilities, parse_import

    try:
        document = tomllib.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"{args.file}: cannot read ({type(error).__name__})", EXIT_CONFIG) from None
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"{args.file}: not valid TOML ({error})", EXIT_CONFIG) from None
    try:
        entries = parse_import(document)
    except ImportInvalid as error:
        raise CliError(f"{args.file}: {error}", EXIT_CONFIG) from None
    store = await open_store(config)
    try:
        today = store.clock.now().astimezone(config.tz).date()
        added, updated = await import_facilities(store, entries, today)
    finally:
        await store.close()
    print(f"Facilities imported: {added} added, {updated} updated.")
    return 0


async def cmd_sandbox(config: Config, args: argparse.Namespace) -> int:
    """`parcelbot sandbox`: the bot in this terminal against the local emulator; no token, passphrase or ./data."""
    from bot import sandbox

    # Only the time zone is taken from the settings: the data dir, token and passphrase are never read.
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        start = sandbox.start_time(args.start, config.tz)
    except ValueError:
        raise CliError(f"--start: expected a date and time such as 2026-11-23T09:00, got {args.start!r}",
                       EXIT_CONFIG) from None
    return await sandbox.main(start=start, language=args.language, timezone=config.timezone,
                              facilities=args.facilities)


ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

COMMANDS: dict[str, Callable[[Config, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "init": cmd_init,
    "invite": cmd_invite,
    "check": cmd_check,
    "run": cmd_run,
    "facilities": cmd_facilities,
    "sandbox": cmd_sandbox,
    **maintenance_commands.COMMANDS,
    **stats_commands.COMMANDS,
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="parcelbot", description="Parcel coordination bot (encrypted storage).")
    top.add_argument("--config", type=Path, help="TOML settings file (default: $PARCELBOT_CONFIG)")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create the data directory and the encrypted database")
    invite = sub.add_parser("invite", help="print a one-time invite code and link")
    invite.add_argument("--role", required=True, choices=[role.value for role in Role])
    invite.add_argument("--hours", type=int, help="hours until the code expires (default: members.invite_hours)")
    run = sub.add_parser("run", help="run the bot until SIGINT/SIGTERM (long polling unless --webhook)")
    run.add_argument("--webhook", action="store_true",
                     help="receive updates on webhook.listen:port (behind an https proxy at webhook.public_url)")
    sub.add_parser("check", help="open the database, check integrity, print row counts")
    facilities = sub.add_parser("facilities", help="manage the facility list")
    facilities_sub = facilities.add_subparsers(dest="facilities_command", required=True)
    facilities_import = facilities_sub.add_parser(
        "import", help="load facilities from a TOML file (same name updates; see examples/facilities.toml)")
    facilities_import.add_argument("file", type=Path, help="the TOML file")
    sandbox = sub.add_parser("sandbox", help="try the bot in this terminal: local emulator, throw-away data, no token")
    sandbox.add_argument("--start", help="fake clock start, e.g. 2026-11-23T09:00 (default: now, to the hour)")
    sandbox.add_argument("--language", choices=["en", "ru", "be"], default="en", help="the people's language")
    sandbox.add_argument("--facilities", type=Path, help="facility list to import (default: examples/facilities.toml)")
    sandbox.add_argument("--verbose", action="store_true", help="show the bot's log lines on stderr")
    maintenance_commands.add_parsers(sub)
    stats_commands.add_parsers(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"parcelbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(config.log_level)
    try:
        code = asyncio.run(COMMANDS[args.command](config, args))
        sys.stdout.flush()  # here rather than at exit, where a reader gone early is no longer caught
        return code
    except CliError as error:
        print(f"parcelbot: {error}", file=sys.stderr)
        return error.code
    except ConfigError as error:
        print(f"parcelbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `parcelbot check | head -1`: the reader had enough. The rest goes nowhere, also what Python
        # would flush at exit, which would otherwise fail again with a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
