"""Runs, their parcels and the volunteers' assignments.

Plain columns: codes, statuses, places, weights, categories and UTC times (they are what claims and
jobs query). Sealed: a parcel's contents (the needs' details) and the note of its outcome. A run code
is a neutral random label ("R-4K7Q") that is safe to show in any list or announcement.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.clock import from_db, to_db
from bot.domain import Assignment, AssignmentStatus, Parcel, ParcelOutcome, Run, RunStatus
from storage.repositories.base import Repository, new_id

if TYPE_CHECKING:  # the planner's plain values; storage does not depend on services at run time
    from bot.services.planner import DraftRun

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud or retyped without doubt
LIVE = (AssignmentStatus.AWAITING_APPROVAL, AssignmentStatus.CLAIMED, AssignmentStatus.CONFIRMED,
        AssignmentStatus.REPORTED)
_LIVE_SQL = "('awaiting_approval', 'claimed', 'confirmed', 'reported')"  # as in the assignments_live index

_RUN = "id, code, facility_id, window_start, window_end, places, status, created_at, published_at, closed_at"
_PARCEL = "id, run_id, prisoner_id, weight_g, categories, contents, outcome, outcome_reason, outcome_note"
_ASSIGNMENT = "id, run_id, member_id, status, claimed_at, confirmed_at, checked_in_at"


def new_code() -> str:
    return "R-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


def _run(row: Sequence) -> Run:
    return Run(id=row[0], code=row[1], facility_id=row[2], window_start=from_db(row[3]), window_end=from_db(row[4]),
               places=row[5], status=RunStatus(row[6]), created_at=from_db(row[7]), published_at=from_db(row[8]),
               closed_at=from_db(row[9]))


def _assignment(row: Sequence) -> Assignment:
    return Assignment(id=row[0], run_id=row[1], member_id=row[2], status=AssignmentStatus(row[3]),
                      claimed_at=from_db(row[4]), confirmed_at=from_db(row[5]), checked_in_at=from_db(row[6]))


def _marks(count: int) -> str:
    return ",".join("?" * count)


class Runs(Repository):
    table = "runs"

    # Parcel fields are sealed bound to the parcels table, not to runs (this repository's own table).
    def _seal_parcel(self, column: str, parcel_id: int, value: object) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.keyring.seal(text, table="parcels", column=column, row_id=parcel_id)

    def _open_parcel(self, column: str, parcel_id: int, envelope: bytes) -> object:
        return json.loads(self.keyring.open_text(envelope, table="parcels", column=column, row_id=parcel_id))

    # Runs ------------------------------------------------------------------------------------------

    async def _free_code(self) -> str:
        while True:
            code = new_code()
            if await self.session.value("SELECT 1 FROM runs WHERE code = ?", (code,)) is None:
                return code

    async def add_draft(self, draft: DraftRun, contents: Mapping[int, str] | None = None) -> Run:
        """The run, its parcels and their needs; the needs become 'planned'.

        `contents` maps a need id to the text the volunteer will read (its details); a parcel's
        contents are sealed as a list aligned with its need ids."""
        contents = contents or {}
        run_id, now = new_id(), self.clock.now()
        code = await self._free_code()
        await self.session.run(
            f"INSERT INTO runs ({_RUN}) VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, NULL, NULL)",
            (run_id, code, draft.facility_id, to_db(draft.window_start), to_db(draft.window_end), draft.places,
             to_db(now)),
        )
        links: list[tuple[int, int]] = []
        parcels = []
        for parcel in draft.parcels:
            parcel_id = new_id()
            lines = [contents.get(need_id, "") for need_id in parcel.need_ids]
            parcels.append((parcel_id, run_id, parcel.prisoner_id, parcel.weight_g, ",".join(parcel.categories),
                            self._seal_parcel("contents", parcel_id, lines)))
            links += [(parcel_id, need_id) for need_id in parcel.need_ids]
        await self.session.run_many(  # one call for all parcels, not one per parcel
            "INSERT INTO parcels (id, run_id, prisoner_id, weight_g, categories, contents) VALUES (?, ?, ?, ?, ?, ?)",
            parcels,
        )
        await self.session.run_many("INSERT INTO parcel_needs (parcel_id, need_id) VALUES (?, ?)", links)
        await self._set_needs([need_id for _, need_id in links], "planned", "open")
        return Run(run_id, code, draft.facility_id, draft.window_start, draft.window_end, draft.places,
                   RunStatus.DRAFT, now)

    async def _set_needs(self, need_ids: list[int], status: str, from_status: str) -> None:
        # The needs table belongs to the needs feature; only the planning status is moved here.
        if need_ids:
            await self.session.run(
                f"UPDATE needs SET status = ? WHERE status = ? AND id IN ({_marks(len(need_ids))})",
                (status, from_status, *need_ids),
            )

    async def reopen_planned_needs(self, run_ids: list[int]) -> None:
        """Needs these runs carried that no report settled go back to open, to be planned again."""
        marks = _marks(len(run_ids))
        await self.session.run(
            "UPDATE needs SET status = 'open' WHERE status = 'planned' AND id IN"
            f" (SELECT need_id FROM parcel_needs JOIN parcels ON parcels.id = parcel_id WHERE run_id IN ({marks}))",
            run_ids,
        )

    async def _needs_of_run(self, run_id: int) -> list[int]:
        rows = await self.session.all(
            "SELECT need_id FROM parcel_needs JOIN parcels ON parcels.id = parcel_id WHERE run_id = ?", (run_id,)
        )
        return [row[0] for row in rows]

    async def get(self, run_id: int) -> Run | None:
        row = await self.session.one(f"SELECT {_RUN} FROM runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    async def list_by_ids(self, run_ids: Iterable[int]) -> list[Run]:
        run_ids = list(run_ids)
        if not run_ids:
            return []
        rows = await self.session.all(f"SELECT {_RUN} FROM runs WHERE id IN (SELECT value FROM json_each(?))",
                                      (json.dumps(run_ids),))
        return [_run(row) for row in rows]

    async def by_code(self, code: str) -> Run | None:
        row = await self.session.one(f"SELECT {_RUN} FROM runs WHERE code = ?", (code.upper(),))
        return None if row is None else _run(row)

    async def list(self, *, statuses: Iterable[RunStatus] = (), start: datetime | None = None,
                   end: datetime | None = None, facility_ids: Iterable[int] | None = None) -> list[Run]:
        """Runs by status, window (start <= window_start < end) and facility, in window order."""
        sql, params = f"SELECT {_RUN} FROM runs WHERE 1=1", []
        if facility_ids is not None:
            sql += " AND facility_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(facility_ids)))
        statuses = [status.value for status in statuses]
        if statuses:
            sql += f" AND status IN ({_marks(len(statuses))})"
            params += statuses
        if start is not None:
            sql += " AND window_start >= ?"
            params.append(to_db(start))
        if end is not None:
            sql += " AND window_start < ?"
            params.append(to_db(end))
        rows = await self.session.all(sql + " ORDER BY window_start, code", params)
        return [_run(row) for row in rows]

    async def publish(self, run_id: int) -> bool:
        changed = await self.session.run(
            "UPDATE runs SET status = 'published', published_at = ? WHERE id = ? AND status = 'draft'",
            (to_db(self.clock.now()), run_id),
        )
        return changed == 1

    async def set_status(self, run_id: int, status: RunStatus) -> None:
        closed = to_db(self.clock.now()) if status in (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED) else None
        await self.session.run("UPDATE runs SET status = ?, closed_at = ? WHERE id = ?", (status.value, closed, run_id))

    async def cancel(self, run_id: int) -> bool:
        """A published run called off: live claims released, undelivered needs open again."""
        changed = await self.session.run(
            "UPDATE runs SET status = 'cancelled', closed_at = ? WHERE id = ? AND status IN ('draft', 'published')",
            (to_db(self.clock.now()), run_id),
        )
        if changed:
            await self.session.run(
                f"UPDATE assignments SET status = 'released' WHERE run_id = ? AND status IN {_LIVE_SQL}", (run_id,)
            )
            await self._set_needs(await self._needs_of_run(run_id), "open", "planned")
        return changed == 1

    async def drop(self, run_id: int, not_in_week: date | None = None) -> bool:
        """A draft taken out of the plan: gone entirely, its needs open again. With `not_in_week` its
        prisoners are left out when that week is planned again. False if it is no draft."""
        if await self.session.value("SELECT status FROM runs WHERE id = ?", (run_id,)) != RunStatus.DRAFT:
            return False
        await self._set_needs(await self._needs_of_run(run_id), "open", "planned")
        if not_in_week is not None:
            await self.session.run(
                "UPDATE prisoners SET not_in_week = ? WHERE id IN (SELECT prisoner_id FROM parcels WHERE run_id = ?)",
                (not_in_week.isoformat(), run_id))
        await self.session.run("DELETE FROM runs WHERE id = ?", (run_id,))  # parcels and links cascade
        self.session.mark_erased()
        return True

    async def set_places(self, run_id: int, places: int) -> bool:
        if places not in (1, 2):
            raise ValueError("places must be 1 or 2")
        return await self.session.run("UPDATE runs SET places = ? WHERE id = ?", (places, run_id)) == 1

    # Parcels ---------------------------------------------------------------------------------------

    async def parcels_of(self, run_id: int, *, opened: bool = True, with_needs: bool = True) -> list[Parcel]:
        """The run's parcels; with opened=False their contents and notes stay sealed (left empty), with
        with_needs=False their need ids are left out (one query fewer)."""
        rows = await self.session.all(f"SELECT {_PARCEL} FROM parcels WHERE run_id = ? ORDER BY id", (run_id,))
        links = await self.session.all(
            "SELECT parcel_id, need_id FROM parcel_needs JOIN parcels ON parcels.id = parcel_id WHERE run_id = ?",
            (run_id,),
        ) if with_needs else []
        need_ids: dict[int, list[int]] = {}
        for parcel_id, need_id in links:
            need_ids.setdefault(parcel_id, []).append(need_id)
        parcels = []
        for row in rows:
            contents = self._open_parcel("contents", row[0], row[5]) if opened and row[5] is not None else []
            note = self._open_parcel("outcome_note", row[0], row[8]) if opened and row[8] is not None else ""
            parcels.append(Parcel(
                id=row[0], run_id=row[1], prisoner_id=row[2], weight_g=row[3],
                categories=tuple(filter(None, row[4].split(","))), contents=tuple(contents),
                need_ids=tuple(sorted(need_ids.get(row[0], ()))), outcome=ParcelOutcome(row[6]) if row[6] else None,
                outcome_reason=row[7] or "", outcome_note=note,
            ))
        return parcels

    async def prisoners_on(self, run_ids: list[int]) -> set[int]:
        """Prisoners with a parcel on any of these runs (one query; nothing opened)."""
        if not run_ids:
            return set()
        rows = await self.session.all("SELECT DISTINCT prisoner_id FROM parcels WHERE run_id IN"
                                      " (SELECT value FROM json_each(?))", (json.dumps(run_ids),))
        return {row[0] for row in rows}

    async def parcel_counts(self, run_ids: Iterable[int]) -> dict[int, tuple[int, int, tuple[str, ...]]]:
        """run id -> (parcels, grams, categories): what the coarse lists show, without opening anything."""
        run_ids = list(run_ids)
        if not run_ids:
            return {}
        rows = await self.session.all(
            f"SELECT run_id, weight_g, categories FROM parcels WHERE run_id IN ({_marks(len(run_ids))})", run_ids
        )
        counts: dict[int, tuple[int, int, set[str]]] = {run_id: (0, 0, set()) for run_id in run_ids}
        for run_id, weight, categories in rows:
            parcels, grams, kinds = counts[run_id]
            counts[run_id] = (parcels + 1, grams + weight, kinds | set(filter(None, categories.split(","))))
        return {run_id: (n, g, tuple(sorted(k))) for run_id, (n, g, k) in counts.items()}

    async def move_parcel(self, parcel_id: int, run_id: int) -> bool:
        return await self.session.run("UPDATE parcels SET run_id = ? WHERE id = ?", (run_id, parcel_id)) == 1

    async def record_outcome(self, parcel_id: int, outcome: ParcelOutcome, reason: str = "", note: str = "",
                             delivered_on: date | None = None) -> bool:
        changed = await self.session.run(
            "UPDATE parcels SET outcome = ?, outcome_reason = ?, outcome_note = ?, delivered_on = ? WHERE id = ?",
            (outcome.value, reason or None, self._seal_parcel("outcome_note", parcel_id, note) if note else None,
             delivered_on.isoformat() if delivered_on else None, parcel_id),
        )
        return changed == 1

    # Assignments -----------------------------------------------------------------------------------

    async def add_assignment(self, run_id: int, member_id: int, status: AssignmentStatus) -> Assignment:
        assignment_id, now = new_id(), self.clock.now()
        await self.session.run(
            "INSERT INTO assignments (id, run_id, member_id, status, claimed_at) VALUES (?, ?, ?, ?, ?)",
            (assignment_id, run_id, member_id, status.value, to_db(now)),
        )
        return Assignment(assignment_id, run_id, member_id, status, now)

    async def get_assignment(self, assignment_id: int) -> Assignment | None:
        row = await self.session.one(f"SELECT {_ASSIGNMENT} FROM assignments WHERE id = ?", (assignment_id,))
        return None if row is None else _assignment(row)

    async def assignments_of(self, run_id: int, *, live_only: bool = False) -> list[Assignment]:
        sql = f"SELECT {_ASSIGNMENT} FROM assignments WHERE run_id = ?"
        if live_only:
            sql += f" AND status IN {_LIVE_SQL}"
        return [_assignment(row) for row in await self.session.all(sql + " ORDER BY claimed_at, id", (run_id,))]

    async def live_assignments_of_runs(self, run_ids: Iterable[int]) -> dict[int, list[Assignment]]:
        """Live assignments of many runs in one query (a board of a week's runs)."""
        run_ids = list(run_ids)
        found: dict[int, list[Assignment]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return found
        rows = await self.session.all(
            f"SELECT {_ASSIGNMENT} FROM assignments WHERE run_id IN (SELECT value FROM json_each(?))"
            f" AND status IN {_LIVE_SQL} ORDER BY claimed_at, id", (json.dumps(run_ids),),
        )
        for row in rows:
            assignment = _assignment(row)
            found[assignment.run_id].append(assignment)
        return found

    async def live_assignments_of_member(self, member_id: int) -> list[Assignment]:
        rows = await self.session.all(
            f"SELECT {_ASSIGNMENT} FROM assignments WHERE member_id = ? AND status IN {_LIVE_SQL}"
            " ORDER BY claimed_at, id", (member_id,),
        )
        return [_assignment(row) for row in rows]

    async def live_count(self, run_id: int) -> int:
        return await self.session.value(
            f"SELECT count(*) FROM assignments WHERE run_id = ? AND status IN {_LIVE_SQL}", (run_id,)
        )

    async def live_counts(self, run_ids: Iterable[int]) -> dict[int, int]:
        run_ids = list(run_ids)
        if not run_ids:
            return {}
        rows = await self.session.all(
            f"SELECT run_id, count(*) FROM assignments WHERE status IN {_LIVE_SQL}"
            f" AND run_id IN ({_marks(len(run_ids))}) GROUP BY run_id", run_ids,
        )
        return {run_id: 0 for run_id in run_ids} | dict(rows)

    async def check_in(self, assignment_id: int) -> bool:
        """The volunteer said they are safe; the first moment counts."""
        return await self.session.run(
            "UPDATE assignments SET checked_in_at = ? WHERE id = ? AND checked_in_at IS NULL",
            (to_db(self.clock.now()), assignment_id),
        ) == 1

    async def assignments_by_status(self, statuses: Iterable[AssignmentStatus], *, start: datetime,
                                    end: datetime) -> list[Assignment]:
        """Assignments in these states on runs whose window starts in [start, end) (the coordinators' board)."""
        values = [status.value for status in statuses]
        rows = await self.session.all(
            f"SELECT {', '.join('a.' + column for column in _ASSIGNMENT.split(', '))} FROM assignments a"
            f" JOIN runs r ON r.id = a.run_id WHERE a.status IN ({_marks(len(values))})"
            " AND r.window_start >= ? AND r.window_start < ? ORDER BY r.window_start, a.id",
            (*values, to_db(start), to_db(end)),
        )
        return [_assignment(row) for row in rows]

    async def set_assignment_status(self, assignment_id: int, status: AssignmentStatus, *,
                                    only_from: Iterable[AssignmentStatus] = ()) -> bool:
        """Move an assignment; with `only_from`, only if it is in one of those states (a guarded step)."""
        sql, params = "UPDATE assignments SET status = ?", [status.value]
        if status is AssignmentStatus.CONFIRMED:
            sql += ", confirmed_at = ?"
            params.append(to_db(self.clock.now()))
        if status is AssignmentStatus.REPORTED:
            sql += ", checked_in_at = ?"
            params.append(to_db(self.clock.now()))
        sql += " WHERE id = ?"
        params.append(assignment_id)
        allowed = [item.value for item in only_from]
        if allowed:
            sql += f" AND status IN ({_marks(len(allowed))})"
            params += allowed
        return await self.session.run(sql, params) == 1

    async def drop_draft_parcels_of(self, prisoner_id: int) -> int:
        """A released prisoner leaves the draft plan; published runs keep their own outcome reports."""
        return await self.session.run(
            "DELETE FROM parcels WHERE prisoner_id = ? AND outcome IS NULL"
            " AND run_id IN (SELECT id FROM runs WHERE status = 'draft')",
            (prisoner_id,),
        )
