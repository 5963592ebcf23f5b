"""Callback tokens: a button carries 22 random characters; meaning, owner and expiry live here."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from bot.clock import to_db
from storage.repositories.base import Repository


class CallbackTokens(Repository):
    table = "callback_tokens"

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
        return await self.session.run("DELETE FROM callback_tokens WHERE member_id = ?", (member_id,))

    async def erase_expired(self, now: datetime) -> int:
        return await self.session.run(
            "DELETE FROM callback_tokens WHERE expires_at <= ? OR used_at IS NOT NULL", (to_db(now),)
        )
