"""One process at a time runs the bot or changes the data directory's keys and files.

`parcelbot run` holds this lock for as long as it runs; init, restore, rotate-key and rotate-passphrase
take it too and refuse while another process holds it (two rotations at once could delete the key
the other is sealing under). The running bot keeps the data and index keys in memory: a rotate-key under it
left it unable to find its own members (coordinators got "This is a private bot.") until it was
restarted, and a restore would put a file under its open connection. A second `parcelbot run` on the
same directory is refused the same way (Telegram would also end one of the two long polls with a 409
Conflict). `wipe` does not wait for it: in an emergency it must work whatever else runs. Commands
that only add rows (invite, facilities import) or read (check, backup, stats) do not take it: they
work beside the running bot. Do not run them during a rotation.

An advisory flock on the data directory itself (no lock file to create, leave behind or wipe): the
kernel drops it when the process ends, however it ends, so a crash never leaves the directory locked.
Not on the database file: SQLite's own locks there are POSIX locks, which a process loses when it
closes any descriptor of that file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DataDirBusy(Exception):
    """Another parcelbot process (the bot, or a maintenance command) holds the data directory."""


@contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """The directory (which must exist) to this process alone; DataDirBusy if another holds it."""
    fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirBusy(str(data_dir)) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
