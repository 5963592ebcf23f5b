"""Callback tokens: a button carries 22 random characters; meaning, owner and expiry live here.

Two homes: `LiveTokens` (memory only) for the buttons of a screen shown in answer to the member's own
message or press, and the sealed `callback_tokens` table for buttons that may wait in a chat for
hours (alerts and prompts sent by jobs), which must survive a restart.
"""

from __future__ import annotations

import secrets
from collections import deque
from datetime import datetime
from typing import Any

from bot.clock import to_db
from storage.repositories.base import Repository

MISSING = object()  # LiveTokens.redeem: "not a live token", so the caller looks in the table


class LiveTokens:
    """Screen buttons' tokens, in this process's memory only.

    A screen's buttons are pressed within minutes of the member asking for it, so they need no row:
    nothing about them reaches the disk (or a seized backup), issuing one costs no write, and a
    restart simply expires them ("send the command again"). The same rules as the table hold: bound
    to one member, expiring, single-use where they change state. Memory is bounded: a member keeps
    at most `per_member` tokens (the oldest go first), and expired ones are swept as new ones come.
    """

    SWEEP_EVERY = 10_000  # tokens issued between two sweeps of expired ones

    def __init__(self, per_member: int = 200) -> None:
        # token -> (member id, action, payload items, single use, expiry): a tuple of plain values, which
        # the garbage collector stops tracking, so tens of thousands of live tokens add nothing to its
        # full passes (a dataclass or dict per token did, and paused the bot as they piled up).
        self._tokens: dict[str, tuple[int, str, tuple[tuple[str, Any], ...], bool, datetime]] = {}
        self._by_member: dict[int, deque[str]] = {}
        self._per_member = per_member
        self._since_sweep = 0

    def __len__(self) -> int:
        return len(self._tokens)

    def issue(self, member_id: int, choices: list[tuple[str, dict[str, Any], bool]], *, expires_at: datetime,
              now: datetime) -> list[str]:
        if self._since_sweep >= self.SWEEP_EVERY:
            self.sweep(now)
        owned = self._by_member.setdefault(member_id, deque())
        tokens = []
        for action, payload, single_use in choices:
            token = secrets.token_urlsafe(16)
            # A copy: the handler that built the keyboard must not be able to change it afterwards.
            self._tokens[token] = (member_id, action, tuple(payload.items()), single_use, expires_at)
            owned.append(token)
            tokens.append(token)
        while len(owned) > self._per_member:
            self._tokens.pop(owned.popleft(), None)
        self._since_sweep += len(tokens)
        return tokens

    def redeem(self, token: str, member_id: int, now: datetime) -> Any:
        """(action, payload) if usable by this member now; None if live but someone else's or
        expired; MISSING if there is no such live token (spent, pushed out, or never issued here:
        the caller then asks the table, which will hold it only if it was issued as lasting)."""
        live = self._tokens.get(token)
        if live is None:
            return MISSING
        owner, action, payload, single_use, expires_at = live
        if owner != member_id:
            return None  # someone else's button: refused, and still usable by its owner
        if expires_at <= now:
            del self._tokens[token]
            return None
        if single_use:
            del self._tokens[token]
        return action, dict(payload)

    def revoke_member(self, member_id: int) -> None:
        for token in self._by_member.pop(member_id, ()):
            self._tokens.pop(token, None)

    def sweep(self, now: datetime) -> None:
        """Forget expired tokens, and spent ones still listed under their member."""
        self._since_sweep = 0
        for token in [token for token, live in self._tokens.items() if live[4] <= now]:
            del self._tokens[token]
        for member_id in list(self._by_member):
            kept = deque(token for token in self._by_member[member_id] if token in self._tokens)
            if kept:
                self._by_member[member_id] = kept
            else:
                del self._by_member[member_id]


class CallbackTokens(Repository):
    table = "callback_tokens"

    def __init__(self, *args: Any, live: LiveTokens | None = None) -> None:
        super().__init__(*args)
        self.live = live

    def _hash(self, token: str) -> bytes:
        return self.index("callback", token)

    async def issue(self, member_id: int, action: str, payload: dict[str, Any], *, expires_at: datetime,
                    single_use: bool) -> str:
        token = secrets.token_urlsafe(16)
        token_hash = self._hash(token)
        # The token hash is the row key; the payload is bound to it through the row id text.
        await self.session.run(
            "INSERT INTO callback_tokens (token_hash, member_id, action, payload, expires_at, single_use)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash, member_id, action, self.seal_json("payload", token_hash.hex(), payload),
             to_db(expires_at), int(single_use)),
        )
        return token

    async def issue_many(self, member_id: int, choices: list[tuple[str, dict[str, Any], bool]], *,
                         expires_at: datetime) -> list[str]:
        """Tokens for many (action, payload, single_use) at once: one statement for a whole keyboard."""
        tokens, rows = [], []
        expires = to_db(expires_at)
        for action, payload, single_use in choices:
            token = secrets.token_urlsafe(16)
            token_hash = self._hash(token)
            rows.append((token_hash, member_id, action, self.seal_json("payload", token_hash.hex(), payload),
                         expires, int(single_use)))
            tokens.append(token)
        if not rows:
            return tokens
        # One multi-row INSERT (not executemany): a single statement, so it is atomic even outside a
        # transaction (Store.write_one). A keyboard has tens of buttons, far below SQLite's
        # 32,766-parameter limit.
        await self.session.run(
            "INSERT INTO callback_tokens (token_hash, member_id, action, payload, expires_at, single_use)"
            " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows)),
            [value for row in rows for value in row],
        )
        return tokens

    async def redeem(self, token: str, member_id: int, now: datetime) -> tuple[str, dict[str, Any]] | None:
        """The action and payload if this token is this member's, unexpired and unused; else None.

        A single-use token is spent here, in the caller's transaction, so a replay finds nothing.
        """
        token_hash = self._hash(token)
        # One statement: find the live token and, if it is single-use, spend it (RETURNING gives the
        # row as it was matched). Replays, other members' tokens and expired ones match nothing.
        row = await self.session.one(
            "UPDATE callback_tokens SET used_at = CASE WHEN single_use THEN ? ELSE used_at END"
            " WHERE token_hash = ? AND member_id = ? AND used_at IS NULL AND expires_at > ?"
            " RETURNING action, payload",
            (to_db(now), token_hash, member_id, to_db(now)),
        )
        if row is None:
            return None
        return row[0], self.open_json("payload", token_hash.hex(), row[1])

    async def revoke_member(self, member_id: int) -> int:
        """Every button ever shown to the member stops working: the table's and the live ones."""
        if self.live is not None:
            self.live.revoke_member(member_id)
        return await self.session.run("DELETE FROM callback_tokens WHERE member_id = ?", (member_id,))

    async def erase_expired(self, now: datetime) -> int:
        return await self.session.run(
            "DELETE FROM callback_tokens WHERE expires_at <= ? OR used_at IS NOT NULL", (to_db(now),)
        )
