"""Opaque button tokens: bound to one member, expiring, single-use where they change state.

A button's callback data is only a random token; a forged, replayed, expired or foreign token
redeems to nothing and so changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage.store import Store

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{22}$"  # noqa: S105 - a regex for callback data, not a secret


@dataclass(frozen=True)
class Choice:
    label: str
    action: str
    payload: dict[str, Any]
    single_use: bool = True


async def issue(
    store: Store, member_id: int, rows: list[list[Choice]], *, ttl_hours: int
) -> list[list[tuple[str, str]]]:
    """Turn rows of choices into rows of (label, token), all in one transaction."""
    expires_at = store.clock.now() + timedelta(hours=ttl_hours)
    choices = [choice for row in rows for choice in row]
    async with store.write_one() as uow:  # one INSERT for the whole keyboard
        tokens = iter(await uow.tokens.issue_many(
            member_id, [(choice.action, choice.payload, choice.single_use) for choice in choices],
            expires_at=expires_at,
        ))
    return [[(choice.label, next(tokens)) for choice in row] for row in rows]


async def redeem(store: Store, token: str, member_id: int) -> tuple[str, dict[str, Any]] | None:
    async with store.write_one() as uow:  # one UPDATE ... RETURNING finds and spends it
        return await uow.tokens.redeem(token, member_id, uow.clock.now())
