-- Dawr hub schema, version 4: the CRM connector's outbox (see crm.rs).
CREATE TABLE crm_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,  -- the receiver de-duplicates on it
    case_ref        TEXT NOT NULL,
    at              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,         -- the JSON delivered, as signed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at TEXT,
    delivered_at    TEXT
);
CREATE INDEX crm_outbox_pending ON crm_outbox (id) WHERE delivered_at IS NULL;

-- The last event sequence copied from `events` into the outbox.
CREATE TABLE crm_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
