-- Dawr hub schema, version 1.
-- Times are RFC 3339 text in UTC with milliseconds ('2026-11-23T09:15:00.123Z'): they sort as
-- text and SQLite's date functions read them.

-- Every change, in order. Reports are computed from here.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY,   -- given by the engine; also the id of a call on the board
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,         -- issued, called, recalled, started, completed, no_show, ...
    visit_id INTEGER,
    counter  TEXT,
    payload  TEXT NOT NULL          -- the event as JSON
);
CREATE INDEX events_visit ON events (visit_id);
CREATE INDEX events_at ON events (at);

-- Every visit's current state (one row per ticket ever issued).
CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL,
    local_day      TEXT NOT NULL,
    service        TEXT NOT NULL,
    priority       TEXT NOT NULL,
    source         TEXT NOT NULL,
    status         TEXT NOT NULL,
    case_ref       TEXT NOT NULL UNIQUE,
    token          TEXT NOT NULL UNIQUE,
    issued_at      TEXT NOT NULL,
    appointment_at TEXT,
    counter        TEXT,
    target_counter TEXT,
    called_at      TEXT,
    started_at     TEXT,
    ended_at       TEXT,
    recalls        INTEGER NOT NULL,
    transfers      INTEGER NOT NULL,
    outcome        TEXT,
    transfer_note  TEXT,
    rating         INTEGER,         -- the exit rating, 1-5
    rating_reason  TEXT
);
CREATE INDEX visits_live ON visits (status) WHERE status IN ('waiting', 'called', 'serving');
CREATE INDEX visits_day ON visits (local_day, service);

-- Counters' current state.
CREATE TABLE counters (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    current_visit INTEGER,
    pause_reason  TEXT,
    changed_at    TEXT NOT NULL,
    -- The visit that last ended here: the one an exit rating is for.
    last_visit    INTEGER,
    last_number   TEXT,
    last_ended_at TEXT,
    last_rated    INTEGER NOT NULL DEFAULT 0
);

-- The last ticket number used per local day and service letter.
CREATE TABLE ticket_numbers (
    local_day TEXT NOT NULL,
    service   TEXT NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (local_day, service)
) WITHOUT ROWID;

-- The last case reference sequence used per local day.
CREATE TABLE case_sequences (
    local_day TEXT PRIMARY KEY,
    last      INTEGER NOT NULL
) WITHOUT ROWID;

-- Replies to device commands, so a repeated command id is answered again but not acted on.
CREATE TABLE command_log (
    counter    TEXT NOT NULL,
    command_id TEXT NOT NULL,
    reply      TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (counter, command_id)
) WITHOUT ROWID;
CREATE INDEX command_log_at ON command_log (at);
