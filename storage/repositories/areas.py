"""Areas ("Minsk", "Gomel"): the coarse places volunteers cover and facilities sit in. Names sealed."""

from __future__ import annotations

from bot.domain import Area
from storage.repositories.base import Repository, new_id


class Areas(Repository):
    table = "areas"

    async def add(self, name: str) -> Area:
        area_id = new_id()
        await self.session.run(
            "INSERT INTO areas (id, name, name_index) VALUES (?, ?, ?)",
            (area_id, self.seal("name", area_id, name), self.index("area", name.casefold())),
        )
        return Area(area_id, name)

    async def by_name(self, name: str) -> Area | None:
        row = await self.session.one(
            "SELECT id, name FROM areas WHERE name_index = ?", (self.index("area", name.casefold()),)
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
