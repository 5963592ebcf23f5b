"""CLI commands for operators' long work: backup, restore, rotate-passphrase, rotate-key, wipe."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from bot.config import Config
from storage import maintenance
from storage.crypto import CryptoError, KdfParams, WrongPassphrase
from storage.repositories.base import IndexMismatch

EXIT_FAILED, EXIT_CONFIG, EXIT_PASSPHRASE, EXIT_REFUSED = 1, 2, 3, 5


def progress_bar(label: str):
    """A one-line progress bar on stderr (only when it is a terminal: logs stay clean)."""
    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() or total <= 0:
            return
        filled = int(30 * min(done, total) / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def _kdf(config: Config) -> KdfParams:
    return KdfParams(n=2**config.kdf_cost, r=8, p=1)


async def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    """Safe while the bot runs (SQLite's backup API). Sealed with the passphrase that opened the database:
    asked once, so a typo cannot seal a backup that no longer restores."""
    from bot.cli import CliError, _passphrase, open_store

    passphrase = _passphrase(config)
    store = await open_store(config, passphrase)
    try:
        size = await maintenance.backup(store, Path(args.file), passphrase, kdf=_kdf(config))
    except OSError as error:
        raise CliError(f"cannot write {args.file}: {error.strerror}", EXIT_FAILED) from None
    finally:
        await store.close()
    print(f"Backup written: {args.file} ({size} bytes, sealed with the passphrase). Keep it off this machine.")
    return 0


async def cmd_restore(config: Config, args: argparse.Namespace) -> int:
    from bot.cli import CliError, _passphrase, holding_data_dir

    try:
        with holding_data_dir(config, "restore", create=True):
            counts = await maintenance.restore(Path(args.file), config.database_path, _passphrase(config))
    except WrongPassphrase:
        raise CliError("the backup does not open with this passphrase (or it is damaged); nothing was written",
                       EXIT_PASSPHRASE) from None
    except maintenance.RestoreRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from None
    except FileNotFoundError:
        raise CliError(f"no backup at {args.file}", EXIT_FAILED) from None
    except CryptoError:
        raise CliError(f"{args.file} is not a parcelbot backup", EXIT_FAILED) from None
    print(f"Restored into {config.database_path}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0


def _new_passphrase() -> str:
    from bot.cli import CliError

    if os.environ.get("PARCELBOT_NEW_PASSPHRASE"):
        return os.environ["PARCELBOT_NEW_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise CliError("PARCELBOT_NEW_PASSPHRASE: missing (or run in a terminal to be asked)", EXIT_CONFIG)
    first = getpass.getpass("New passphrase: ")
    if len(first) < 12 or getpass.getpass("New passphrase again: ") != first:
        raise CliError("new passphrase: at least 12 characters, typed the same twice", EXIT_REFUSED)
    return first


async def cmd_rotate_passphrase(config: Config, args: argparse.Namespace) -> int:
    from bot.cli import holding_data_dir

    with holding_data_dir(config, "rotate-passphrase"):  # never beside rotate-key (storage/lock.py)
        await _rotate_passphrase(config)
    print("Passphrase changed. Old backups still open only with the old passphrase.")
    return 0


async def _rotate_passphrase(config: Config) -> None:
    from bot.cli import _passphrase, open_store

    passphrase = _passphrase(config)
    store = await open_store(config, passphrase)
    try:
        await maintenance.rotate_passphrase(store, passphrase, _new_passphrase(), kdf=_kdf(config))
    finally:
        await store.close()


def _say_index_rotated(rotation: maintenance.IndexRotation) -> None:
    print(f"New index key: {rotation.rows} lookups recomputed; {rotation.invites_cancelled} unused invites "
          f"cancelled (issue new ones); {rotation.buttons_expired} buttons in earlier alerts expired.")


async def cmd_rotate_key(config: Config, args: argparse.Namespace) -> int:
    from bot.cli import holding_data_dir

    with holding_data_dir(config, "rotate-key"):  # the running bot holds the old keys in memory
        count = await _rotate_key(config)
    print(f"Re-sealed {count} fields under a new key; the old key is deleted. Safe to run again if interrupted.")
    return 0


async def _rotate_key(config: Config) -> int:
    from bot.cli import CliError, _passphrase, open_store

    passphrase = _passphrase(config)
    store = await open_store(config, passphrase)
    try:
        return await maintenance.rotate_key(store, passphrase, progress_bar("re-sealing"),
                                            index_rotated=_say_index_rotated)
    except IndexMismatch as error:
        raise CliError(f"rotate-key stopped before changing anything: {error}", EXIT_FAILED) from None
    finally:
        await store.close()


async def cmd_wipe(config: Config, args: argparse.Namespace) -> int:
    from bot.cli import CliError

    answer = args.confirm
    if answer is None and sys.stdin.isatty():
        prompt = f"This destroys the database and backups in {config.data_dir}. Type WIPE to go on: "
        answer = await asyncio.to_thread(input, prompt)
    if answer != "WIPE":
        raise CliError("wipe: not confirmed (type WIPE, or pass --confirm WIPE)", EXIT_REFUSED)
    # Not behind the data directory's lock: in an emergency the wipe must work whatever else runs.
    removed = maintenance.wipe_files(config.data_dir)
    print(f"Wiped {len(removed)} files in {config.data_dir}.")
    return 0


COMMANDS = {
    "backup": cmd_backup,
    "restore": cmd_restore,
    "rotate-passphrase": cmd_rotate_passphrase,
    "rotate-key": cmd_rotate_key,
    "wipe": cmd_wipe,
}


def add_parsers(sub) -> None:
    backup = sub.add_parser("backup", help="write a sealed, consistent backup of the database to FILE")
    backup.add_argument("file")
    restore = sub.add_parser("restore", help="check a backup and restore it into an empty data directory")
    restore.add_argument("file")
    sub.add_parser("rotate-passphrase", help="change the passphrase (new one from PARCELBOT_NEW_PASSPHRASE or asked)")
    sub.add_parser("rotate-key", help="new data and index keys: re-seal every field (resumable), recompute lookups; "
                                      "run with the bot stopped")
    wipe = sub.add_parser("wipe", help="overwrite and delete the database, its WAL and backups in the data directory")
    wipe.add_argument("--confirm", help="type WIPE here to confirm without a prompt")
