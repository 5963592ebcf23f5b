"""Members: a keyed hash of the Telegram user id to recognise them, a sealed chat id to reach them.

Nothing else Telegram knows about a person (username, names, phone, photo) is ever stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from bot.clock import from_db, to_db
from bot.domain import Member, MemberStatus, Role
from storage.crypto import Keyring
from storage.repositories.base import IndexMismatch, Repository, new_id

_COLUMNS = (
    "id, role, status, chat_id, pseudonym, profile, language, trusted, runs_done, missed_checkins,"
    " unreachable, created_at, last_active_on"
)


TELEGRAM_USER, PSEUDONYM = "telegram-user", "pseudonym"  # blind index purposes


class Members(Repository):
    table = "members"

    def telegram_index(self, telegram_user_id: int) -> bytes:
        return self.index(TELEGRAM_USER, str(telegram_user_id))

    def pseudonym_index(self, pseudonym: str) -> bytes:
        return self.index(PSEUDONYM, pseudonym.casefold())

    async def reindex(self, under: Keyring) -> int:
        """Index key rotation: every member's keyed hashes recomputed under `under`.

        The Telegram user id is not stored; the sealed chat id is the same number, because the bot
        talks to members only in private chats (where Telegram gives a chat the user's id). Each
        stored hash is checked first (`rehash`), so a member whose hash could not be recomputed stops
        the rotation rather than being locked out."""
        rows = await self.session.all("SELECT id, telegram_index, chat_id, pseudonym, pseudonym_index FROM members")
        updates = []
        for member_id, telegram_index, chat_id, pseudonym, pseudonym_index in rows:
            new_telegram = None
            if telegram_index is not None:
                if chat_id is None:
                    raise IndexMismatch(self.table, member_id)
                user_id = str(int(self.open_text("chat_id", member_id, chat_id)))
                new_telegram = self.rehash(telegram_index, user_id, TELEGRAM_USER, under, member_id)
            name = self.open_text("pseudonym", member_id, pseudonym).casefold()
            updates.append((new_telegram, self.rehash(pseudonym_index, name, PSEUDONYM, under, member_id), member_id))
        await self.session.run_many("UPDATE members SET telegram_index = ?, pseudonym_index = ? WHERE id = ?", updates)
        return len(updates)

    def _member(self, row: tuple) -> Member:
        member_id = row[0]
        profile = self.open_json("profile", member_id, row[5]) if row[5] is not None else {}
        chat_id = int(self.open_text("chat_id", member_id, row[3])) if row[3] is not None else 0
        return Member(
            id=member_id,
            role=Role(row[1]),
            status=MemberStatus(row[2]),
            chat_id=chat_id,
            pseudonym=self.open_text("pseudonym", member_id, row[4]),
            area_ids=tuple(profile.get("areas", ())),
            weekdays=tuple(profile.get("weekdays", ())),
            language=row[6],
            trusted=bool(row[7]),
            runs_done=row[8],
            missed_checkins=row[9],
            unreachable=bool(row[10]),
            created_at=from_db(row[11]),
            last_active_on=date.fromisoformat(row[12]) if row[12] else None,
        )

    async def add(
        self, *, role: Role, status: MemberStatus, telegram_user_id: int, chat_id: int, pseudonym: str,
        language: str,
    ) -> Member:
        member_id = new_id()
        now = self.clock.now()
        await self.session.run(
            f"INSERT INTO members ({_COLUMNS}, telegram_index, pseudonym_index)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?, 0, 0, 0, 0, ?, NULL, ?, ?)",
            (
                member_id, role.value, status.value, self.seal("chat_id", member_id, str(chat_id)),
                self.seal("pseudonym", member_id, pseudonym), language, to_db(now),
                self.telegram_index(telegram_user_id), self.pseudonym_index(pseudonym),
            ),
        )
        return Member(id=member_id, role=role, status=status, pseudonym=pseudonym, language=language,
                      created_at=now, chat_id=chat_id)

    async def pseudonym_taken(self, pseudonym: str) -> bool:
        return await self.session.value(
            "SELECT 1 FROM members WHERE pseudonym_index = ?", (self.pseudonym_index(pseudonym),)
        ) is not None

    async def by_telegram(self, telegram_user_id: int) -> Member | None:
        row = await self.session.one(
            f"SELECT {_COLUMNS} FROM members WHERE telegram_index = ?", (self.telegram_index(telegram_user_id),)
        )
        return None if row is None else self._member(row)

    async def get(self, member_id: int) -> Member | None:
        row = await self.session.one(f"SELECT {_COLUMNS} FROM members WHERE id = ?", (member_id,))
        return None if row is None else self._member(row)

    async def many(self, member_ids: Iterable[int]) -> dict[int, Member]:
        """Members by id, in one query."""
        member_ids = list(member_ids)
        if not member_ids:
            return {}
        rows = await self.session.all(
            f"SELECT {_COLUMNS} FROM members WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(member_ids),)
        )
        return {row[0]: self._member(row) for row in rows}

    async def list(self, *, role: Role | None = None, statuses: tuple[MemberStatus, ...] = ()) -> list[Member]:
        sql = f"SELECT {_COLUMNS} FROM members WHERE 1=1"
        params: list = []
        if role is not None:
            sql += " AND role = ?"
            params.append(role.value)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(status.value for status in statuses)
        rows = await self.session.all(sql, params)
        members = [self._member(row) for row in rows]
        return sorted(members, key=lambda member: member.pseudonym.casefold())

    async def count_active_coordinators(self) -> int:
        return await self.session.value(
            "SELECT count(*) FROM members WHERE role = 'coordinator' AND status = 'active'"
        )

    async def set_status(self, member_id: int, status: MemberStatus) -> None:
        await self.session.run("UPDATE members SET status = ? WHERE id = ?", (status.value, member_id))

    async def set_trusted(self, member_id: int, trusted: bool) -> None:
        await self.session.run("UPDATE members SET trusted = ? WHERE id = ?", (int(trusted), member_id))

    async def set_language(self, member_id: int, language: str) -> None:
        await self.session.run("UPDATE members SET language = ? WHERE id = ?", (language, member_id))

    async def set_profile(self, member_id: int, area_ids: tuple[int, ...], weekdays: tuple[int, ...]) -> None:
        profile = {"areas": sorted(area_ids), "weekdays": sorted(weekdays)}
        await self.session.run(
            "UPDATE members SET profile = ? WHERE id = ?", (self.seal_json("profile", member_id, profile), member_id)
        )

    async def set_unreachable(self, member_id: int, unreachable: bool) -> None:
        await self.session.run("UPDATE members SET unreachable = ? WHERE id = ?", (int(unreachable), member_id))

    async def seen(self, member_id: int, day: date) -> None:
        """They wrote to us today: last active day moves forward, and they can be reached again (one statement)."""
        await self.session.run(
            "UPDATE members SET last_active_on = CASE WHEN last_active_on IS NULL OR last_active_on < ? THEN ?"
            " ELSE last_active_on END, unreachable = 0 WHERE id = ?",
            (day.isoformat(), day.isoformat(), member_id),
        )

    async def count_run_done(self, member_id: int) -> None:
        await self.session.run("UPDATE members SET runs_done = runs_done + 1 WHERE id = ?", (member_id,))

    async def count_missed_checkin(self, member_id: int) -> None:
        await self.session.run(
            "UPDATE members SET missed_checkins = missed_checkins + 1 WHERE id = ?", (member_id,)
        )

    async def revoke(self, member_id: int) -> None:
        """Keep a bare row (role, status, counts) so history adds up; erase everything personal."""
        await self.session.run(
            "UPDATE members SET status = 'revoked', telegram_index = NULL, chat_id = NULL, profile = NULL"
            " WHERE id = ?",
            (member_id,),
        )
        self.session.mark_erased()

    async def erase(self, member_id: int) -> None:
        await self.session.run("DELETE FROM members WHERE id = ?", (member_id,))
        self.session.mark_erased()

    async def count(self) -> int:
        return await self.session.value("SELECT count(*) FROM members")

    async def count_event(self, event: str) -> None:
        """Anonymous counters (e.g. "forgotten") that outlive the members they count."""
        await self.session.run(
            "INSERT INTO member_counts (event, count) VALUES (?, 1) ON CONFLICT(event) DO UPDATE SET count = count + 1",
            (event,),
        )
