"""Numbered schema migrations, applied in order, each in one transaction and recorded.

Column conventions: every BLOB column holds a sealed envelope (storage/crypto.py) bound to its
table, column and row id, or a keyed hash (`*_index`, `*_hash`). Plain columns hold only what must
be queried and says nothing about a person: roles, statuses, categories, counts, UTC timestamps.
Row ids are random 62-bit integers, so they reveal neither order nor volume and cannot be guessed.
"""

from __future__ import annotations

INITIAL = [
    # Key material is stored only wrapped under the key derived from the passphrase.
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )""",
    """CREATE TABLE keyring (
        key_id INTEGER NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('seal', 'index')),
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (purpose, key_id)
    )""",
    """CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('coordinator', 'volunteer', 'family')),
        status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'frozen', 'revoked')),
        telegram_index BLOB UNIQUE,          -- keyed hash of the Telegram user id; NULL once revoked
        chat_id BLOB,                        -- sealed
        pseudonym BLOB NOT NULL,             -- sealed
        pseudonym_index BLOB NOT NULL UNIQUE,
        profile BLOB,                        -- sealed JSON: areas, weekdays
        language TEXT NOT NULL,
        trusted INTEGER NOT NULL DEFAULT 0,
        runs_done INTEGER NOT NULL DEFAULT 0,
        missed_checkins INTEGER NOT NULL DEFAULT 0,
        unreachable INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        last_active_on TEXT
    )""",
    """CREATE TABLE invites (
        id INTEGER PRIMARY KEY,
        code_hash BLOB NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('coordinator', 'volunteer', 'family')),
        created_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    )""",
    """CREATE TABLE areas (
        id INTEGER PRIMARY KEY,
        name BLOB NOT NULL,                  -- sealed
        name_index BLOB NOT NULL UNIQUE
    )""",
    """CREATE TABLE facilities (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        area_id INTEGER REFERENCES areas(id) ON DELETE SET NULL,
        name BLOB NOT NULL,                  -- sealed
        address BLOB NOT NULL,               -- sealed
        places INTEGER NOT NULL DEFAULT 1,   -- volunteer places per run
        created_at TEXT NOT NULL
    )""",
    # Rules change without notice; each version is kept with the date it took effect, so the ledger
    # applies the rules in force at a parcel's date.
    """CREATE TABLE facility_rules (
        id INTEGER PRIMARY KEY,
        facility_id INTEGER NOT NULL REFERENCES facilities(id) ON DELETE CASCADE,
        effective_from TEXT NOT NULL,
        rules BLOB NOT NULL                  -- sealed JSON
    )""",
    """CREATE TABLE refusals (
        id INTEGER PRIMARY KEY,
        facility_id INTEGER NOT NULL REFERENCES facilities(id) ON DELETE CASCADE,
        reported_on TEXT NOT NULL,
        reason TEXT NOT NULL,
        note BLOB,                           -- sealed
        turned_into_rule INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE prisoners (
        id INTEGER PRIMARY KEY,
        alias BLOB NOT NULL,                 -- sealed
        alias_index BLOB NOT NULL UNIQUE,
        identity BLOB NOT NULL,              -- sealed JSON: full name, birth year, regime, notes
        facility_id INTEGER REFERENCES facilities(id) ON DELETE SET NULL,
        status TEXT NOT NULL,
        suspended_until TEXT,
        last_parcel_on TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE transfers (
        id INTEGER PRIMARY KEY,
        prisoner_id INTEGER NOT NULL REFERENCES prisoners(id) ON DELETE CASCADE,
        from_facility_id INTEGER REFERENCES facilities(id) ON DELETE SET NULL,
        to_facility_id INTEGER REFERENCES facilities(id) ON DELETE SET NULL,
        moved_on TEXT NOT NULL
    )""",
    """CREATE TABLE family_requests (
        id INTEGER PRIMARY KEY,
        member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
        status TEXT NOT NULL,
        details BLOB NOT NULL,               -- sealed JSON
        prisoner_id INTEGER REFERENCES prisoners(id) ON DELETE SET NULL,
        decline_reason TEXT,
        created_at TEXT NOT NULL,
        closed_at TEXT
    )""",
    """CREATE TABLE needs (
        id INTEGER PRIMARY KEY,
        prisoner_id INTEGER NOT NULL REFERENCES prisoners(id) ON DELETE CASCADE,
        category TEXT NOT NULL,
        status TEXT NOT NULL,
        urgency TEXT NOT NULL,
        weight_g INTEGER NOT NULL,
        details BLOB,                        -- sealed
        due_on TEXT,
        request_id INTEGER REFERENCES family_requests(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        closed_at TEXT
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        facility_id INTEGER NOT NULL REFERENCES facilities(id) ON DELETE CASCADE,
        window_start TEXT NOT NULL,
        window_end TEXT NOT NULL,
        places INTEGER NOT NULL CHECK (places BETWEEN 1 AND 2),
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        published_at TEXT,
        closed_at TEXT
    )""",
    """CREATE TABLE parcels (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        prisoner_id INTEGER NOT NULL REFERENCES prisoners(id) ON DELETE CASCADE,
        weight_g INTEGER NOT NULL,
        categories TEXT NOT NULL,
        contents BLOB,                       -- sealed JSON list
        outcome TEXT,
        outcome_reason TEXT,
        outcome_note BLOB,                   -- sealed
        delivered_on TEXT
    )""",
    """CREATE TABLE parcel_needs (
        parcel_id INTEGER NOT NULL REFERENCES parcels(id) ON DELETE CASCADE,
        need_id INTEGER NOT NULL REFERENCES needs(id) ON DELETE CASCADE,
        PRIMARY KEY (parcel_id, need_id)
    )""",
    """CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        confirmed_at TEXT,
        checked_in_at TEXT
    )""",
    # At most one live claim per member per run; released/missed rows may repeat.
    """CREATE UNIQUE INDEX assignments_live ON assignments (run_id, member_id)
        WHERE status IN ('awaiting_approval', 'claimed', 'confirmed', 'reported')""",
    # The sealed outbox: bot messages that must be deleted later, also across restarts.
    """CREATE TABLE tracked_messages (
        id INTEGER PRIMARY KEY,
        member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target BLOB NOT NULL,                -- sealed JSON: chat id and message id
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        sent_at TEXT NOT NULL,
        delete_after TEXT NOT NULL
    )""",
    """CREATE INDEX tracked_messages_due ON tracked_messages (delete_after)""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        entry BLOB NOT NULL                  -- sealed JSON: actor, subject
    )""",
    """CREATE INDEX audit_at ON audit (at)""",
    # Buttons carry only an opaque random token; what it means lives here, bound to one member.
    """CREATE TABLE callback_tokens (
        token_hash BLOB PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        payload BLOB NOT NULL,               -- sealed JSON
        expires_at TEXT NOT NULL,
        single_use INTEGER NOT NULL,
        used_at TEXT
    )""",
    """CREATE INDEX callback_tokens_member ON callback_tokens (member_id)""",
    # Every reminder, deadline and deletion is a row; jobs are rebuilt from these at start-up.
    """CREATE TABLE scheduled (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        ref_id INTEGER NOT NULL,
        due_at TEXT NOT NULL,
        done_at TEXT,
        UNIQUE (kind, ref_id)
    )""",
    """CREATE INDEX scheduled_due ON scheduled (done_at, due_at)""",
    # Conversation state that must survive a restart, sealed like everything else.
    """CREATE TABLE conversations (
        member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        step TEXT NOT NULL,
        data BLOB NOT NULL,                  -- sealed JSON
        updated_at TEXT NOT NULL
    )""",
    # What remains after erasure: counts only.
    """CREATE TABLE weekly_counts (
        facility_id INTEGER,
        week TEXT NOT NULL,
        outcome TEXT NOT NULL,
        parcels INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (facility_id, week, outcome)
    )""",
    """CREATE TABLE member_counts (
        event TEXT PRIMARY KEY,
        count INTEGER NOT NULL DEFAULT 0
    )""",
]

# Found with `python -m bench.steps --plans`: every hot read of a volunteer's journey scanned a whole
# table (parcels for every /runs, /myruns, claim and details; runs by date; a member's assignments,
# tracked messages and requests). Each index serves a query that runs per update.
QUERY_INDEXES = [
    "CREATE INDEX parcels_run ON parcels (run_id)",
    "CREATE INDEX parcels_prisoner ON parcels (prisoner_id)",
    "CREATE INDEX runs_window ON runs (window_start)",
    "CREATE INDEX runs_status_window ON runs (status, window_start)",
    "CREATE INDEX runs_facility_window ON runs (facility_id, window_start)",
    "CREATE INDEX assignments_member ON assignments (member_id, status)",
    "CREATE INDEX assignments_run ON assignments (run_id, status)",
    "CREATE INDEX tracked_messages_run ON tracked_messages (run_id)",
    "CREATE INDEX tracked_messages_member ON tracked_messages (member_id)",
    "CREATE INDEX family_requests_member ON family_requests (member_id)",
    "CREATE INDEX family_requests_prisoner ON family_requests (prisoner_id)",
    "CREATE INDEX facility_rules_facility ON facility_rules (facility_id, effective_from)",
    "CREATE INDEX transfers_prisoner ON transfers (prisoner_id)",
    "CREATE INDEX parcel_needs_need ON parcel_needs (need_id)",
    "CREATE INDEX needs_prisoner ON needs (prisoner_id, status)",
]

# Notices a lockdown held back, sent once it is lifted (storage/repositories/notices.py).
HELD_NOTICES = [
    """CREATE TABLE held_notices (
        id INTEGER PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,  -- the run it is about, if any
        held_at TEXT NOT NULL,
        seq INTEGER NOT NULL,                -- the order they were held in (ids are random)
        notice BLOB NOT NULL                 -- sealed JSON: message id and its values
    )""",
    "CREATE INDEX held_notices_member ON held_notices (member_id)",
    "CREATE INDEX held_notices_run ON held_notices (run_id)",
]

# A coordinator who drops a draft from the week's plan means "not these people this week": without
# this the next /plan (which also shows the plan) drafted them again under a new code.
NOT_IN_WEEK = [
    "ALTER TABLE prisoners ADD COLUMN not_in_week TEXT",  # the Monday (ISO date) of the week they were dropped from
]

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial domain model", INITIAL),
    (2, "indexes for the per-update queries", QUERY_INDEXES),
    (3, "notices held back in a lockdown", HELD_NOTICES),
    (4, "needs taken out of a week's plan", NOT_IN_WEEK),
]
