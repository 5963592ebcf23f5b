"""Retention: erase personal details once they are no longer needed; keep only counts.

Runs are counted into `weekly_counts` (facility, week, outcome -> parcels) before their parcels,
assignments and outcome notes are erased. Every transaction that deletes rows is followed by a WAL
checkpoint (the store does it), so erased bytes leave the -wal file too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from storage.store import Store


@dataclass(frozen=True)
class RetentionPolicy:
    run_days: int = 14
    request_days: int = 30
    audit_days: int = 90
    registration_hours: int = 72
    conversation_hours: int = 72


async def run_retention(store: Store, policy: RetentionPolicy) -> dict[str, int]:
    """One pass over everything that has aged out; returns how many of each kind were erased."""
    now = store.clock.now()
    erased: dict[str, int] = {}
    async with store.write() as uow:
        run_cutoff = now - timedelta(days=policy.run_days)
        run_ids = await uow.retention.finished_runs_before(run_cutoff)
        # A run nobody reported stays published for ever otherwise, with its parcels' contents and its
        # needs held as "planned" (never planned again): it ages out like a finished one, and what it
        # carried is open again.
        unreported = await uow.retention.unreported_runs_before(run_cutoff)
        if unreported:
            await uow.runs.reopen_planned_needs(unreported)
        if run_ids or unreported:
            await uow.retention.count_and_erase_runs([*run_ids, *unreported])
        erased["runs"] = len(run_ids)
        erased["unreported_runs"] = len(unreported)
        erased["requests"] = await uow.requests.erase_closed_before(now - timedelta(days=policy.request_days))
        erased["registrations"] = await uow.retention.erase_unfinished_registrations(
            now - timedelta(hours=policy.registration_hours)
        )
        erased["invites"] = await uow.invites.erase_expired(now)
        erased["tokens"] = await uow.tokens.erase_expired(now)
        erased["audit"] = await uow.audit.erase_before(now - timedelta(days=policy.audit_days))
        erased["conversations"] = await uow.conversations.erase_older_than(
            now - timedelta(hours=policy.conversation_hours)
        )
        # Held back by a lockdown that outlasted a run's whole record: what they said is moot.
        erased["held_notices"] = await uow.notices.erase_before(run_cutoff)
        if any(erased.values()):
            uow.session.mark_erased()
            await uow.audit.add("retention", actor_id=None,
                                subject=", ".join(f"{kind} {count}" for kind, count in erased.items() if count))
    return erased
