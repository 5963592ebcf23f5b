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
    keyboard: list[list[tuple[str, str]]] = []
    async with store.write() as uow:
        for row in rows:
            keyboard.append([
                (choice.label, await uow.tokens.issue(member_id, choice.action, choice.payload,
                                                      expires_at=expires_at, single_use=choice.single_use))
                for choice in row
            ])
    return keyboard


async def redeem(store: Store, token: str, member_id: int) -> tuple[str, dict[str, Any]] | None:
    async with store.write() as uow:
        return await uow.tokens.redeem(token, member_id, uow.clock.now())
