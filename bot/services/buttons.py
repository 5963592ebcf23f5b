"""Opaque button tokens: bound to one member, expiring, single-use where they change state.

A button's callback data is only a random token; a forged, replayed, expired or foreign token
redeems to nothing and so changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage.repositories.tokens import MISSING
from storage.store import Store

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{22}$"  # noqa: S105 - a regex for callback data, not a secret


@dataclass(frozen=True)
class Choice:
    label: str
    action: str
    payload: dict[str, Any]
    single_use: bool = True


async def issue(
    store: Store, member_id: int, rows: list[list[Choice]], *, ttl_hours: int, lasting: bool = False
) -> list[list[tuple[str, str]]]:
    """Turn rows of choices into rows of (label, token).

    A screen answering the member's own message or press keeps its tokens in memory only (no write,
    nothing on disk; a restart expires them). `lasting`: the buttons may wait in the chat for hours
    (an alert or a prompt sent by a job), so they go to the sealed table, in one statement, and survive
    a restart."""
    now = store.clock.now()
    expires_at = now + timedelta(hours=ttl_hours)
    choices = [(choice.action, choice.payload, choice.single_use) for row in rows for choice in row]
    if lasting:
        async with store.write_one() as uow:  # one INSERT for the whole keyboard
            tokens = iter(await uow.tokens.issue_many(member_id, choices, expires_at=expires_at))
    else:
        tokens = iter(store.live_tokens.issue(member_id, choices, expires_at=expires_at, now=now))
    return [[(choice.label, next(tokens)) for choice in row] for row in rows]


async def redeem(store: Store, token: str, member_id: int) -> tuple[str, dict[str, Any]] | None:
    now = store.clock.now()
    live = store.live_tokens.redeem(token, member_id, now)
    if live is not MISSING:
        return live
    async with store.write_one() as uow:  # one UPDATE ... RETURNING finds and spends it
        return await uow.tokens.redeem(token, member_id, now)
