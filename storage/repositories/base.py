"""What every repository shares: sealing bound to its own table, random row ids, JSON values."""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot.clock import Clock
from storage.crypto import Keyring
from storage.db import Session


def new_id() -> int:
    """A random positive 62-bit row id: reveals no order or volume, fits SQLite's INTEGER."""
    return secrets.randbits(62) + 1


class IndexMismatch(Exception):
    """A stored keyed hash is not the hash of the value it stands for: recomputing it would lock
    its row out of every lookup, so an index key rotation stops (nothing is changed)."""

    def __init__(self, table: str, row_id: int) -> None:
        super().__init__(f"{table} row {row_id}: a stored keyed hash does not match its value")
        self.table = table
        self.row_id = row_id


class Repository:
    table: str = ""

    def __init__(self, session: Session, keyring: Keyring, clock: Clock) -> None:
        self.session = session
        self.keyring = keyring
        self.clock = clock

    def seal(self, column: str, row_id: int, value: str | bytes) -> bytes:
        return self.keyring.seal(value, table=self.table, column=column, row_id=row_id)

    def seal_json(self, column: str, row_id: int, value: Any) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.seal(column, row_id, text)

    def open_text(self, column: str, row_id: int, envelope: bytes) -> str:
        return self.keyring.open_text(envelope, table=self.table, column=column, row_id=row_id)

    def open_json(self, column: str, row_id: int, envelope: bytes) -> Any:
        return json.loads(self.open_text(column, row_id, envelope))

    def index(self, purpose: str, value: str | bytes) -> bytes:
        return self.keyring.blind_index(purpose, value)

    def rehash(self, stored: bytes, value: str | bytes, purpose: str, under: Keyring, row_id: int) -> bytes:
        """Index key rotation: `value`'s hash under the new keyring, once the stored hash is checked
        to be `value`'s under this one."""
        if self.index(purpose, value) != stored:
            raise IndexMismatch(self.table, row_id)
        return under.blind_index(purpose, value)
