"""Areas ("Minsk", "Gomel"): the coarse places volunteers cover and facilities sit in. Names sealed."""

from __future__ import annotations

from bot.domain import Area
from storage.crypto import Keyring
from storage.repositories.base import Repository, new_id

NAME = "area"  # blind index purpose


class Areas(Repository):
    table = "areas"

    def name_index(self, name: str) -> bytes:
        return self.index(NAME, name.casefold())

    async def reindex(self, under: Keyring) -> int:
        """Index key rotation: each area's name hash recomputed under `under` (checked first)."""
        rows = await self.session.all("SELECT id, name, name_index FROM areas")
        updates = [(self.rehash(stored, self.open_text("name", area_id, name).casefold(), NAME, under, area_id),
                    area_id) for area_id, name, stored in rows]
        await self.session.run_many("UPDATE areas SET name_index = ? WHERE id = ?", updates)
        return len(updates)

    async def add(self, name: str) -> Area:
        area_id = new_id()
        await self.session.run(
            "INSERT INTO areas (id, name, name_index) VALUES (?, ?, ?)",
            (area_id, self.seal("name", area_id, name), self.name_index(name)),
        )
        return Area(area_id, name)

    async def by_name(self, name: str) -> Area | None:
        row = await self.session.one(
            "SELECT id, name FROM areas WHERE name_index = ?", (self.name_index(name),)
        )
        return None if row is None else Area(row[0], self.open_text("name", row[0], row[1]))

    async def get(self, area_id: int) -> Area | None:
        row = await self.session.one("SELECT id, name FROM areas WHERE id = ?", (area_id,))
        return None if row is None else Area(row[0], self.open_text("name", row[0], row[1]))

    async def list(self) -> list[Area]:
        rows = await self.session.all("SELECT id, name FROM areas")
        return sorted((Area(row[0], self.open_text("name", row[0], row[1])) for row in rows),
                      key=lambda area: area.name.casefold())

    async def remove(self, area_id: int) -> None:
        await self.session.run("DELETE FROM areas WHERE id = ?", (area_id,))
