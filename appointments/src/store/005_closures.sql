-- Dawr appointments schema, version 5: days a branch closed (told by its hub; their bookings
-- are cancelled and their slots show no place), the mobiles that answered STOP (no reminder goes
-- to them), and the outbox's kind `closed` (the text that tells a holder their booking was
-- cancelled because the branch closed that day, with a link to book again).
CREATE TABLE day_closures (
    branch    TEXT NOT NULL,
    service   TEXT NOT NULL,           -- a service code, or '' for every service
    local_day TEXT NOT NULL,
    closed_at TEXT NOT NULL,
    PRIMARY KEY (branch, local_day, service)
);
CREATE TABLE sms_opt_outs (
    mobile TEXT PRIMARY KEY,           -- +9665xxxxxxxx
    at     TEXT NOT NULL
);
CREATE TABLE sms_outbox_v5 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    booking         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('reminder_day', 'reminder_hour', 'closed')),
    mobile          TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'submitted', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    submitted_at    TEXT,
    parts           INTEGER,
    UNIQUE (booking, kind)
);
INSERT INTO sms_outbox_v5 SELECT * FROM sms_outbox;
DROP TABLE sms_outbox;
ALTER TABLE sms_outbox_v5 RENAME TO sms_outbox;
CREATE INDEX sms_outbox_unsent ON sms_outbox (next_attempt_at) WHERE state IN ('queued', 'sending');
