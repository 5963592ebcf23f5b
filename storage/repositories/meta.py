"""Small settings the bot learns at run time (its own username), sealed like everything else."""

from __future__ import annotations

from storage.repositories.base import Repository


class Meta(Repository):
    table = "meta"

    async def get_sealed(self, key: str) -> str | None:
        value = await self.session.value("SELECT value FROM meta WHERE key = ?", (f"sealed:{key}",))
        return None if value is None else self.open_text("value", key, value)

    async def set_sealed(self, key: str, value: str) -> None:
        await self.session.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"sealed:{key}", self.seal("value", key, value)),
        )

    async def take_sealed(self, key: str) -> str | None:
        """Read once: the value, and the row is gone."""
        value = await self.get_sealed(key)
        if value is not None:
            await self.session.run("DELETE FROM meta WHERE key = ?", (f"sealed:{key}",))
        return value

    async def flag(self, key: str) -> bool:
        """Plain on/off switches (lockdown): their state is no secret, and they are read at start-up."""
        return await self.session.value("SELECT value FROM meta WHERE key = ?", (f"flag:{key}",)) == b"1"

    async def set_flag(self, key: str, on: bool) -> None:
        await self.session.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"flag:{key}", b"1" if on else b"0"),
        )
