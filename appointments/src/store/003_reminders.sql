-- Dawr appointments schema, version 3: SMS reminders a day and an hour before a booking's slot
-- (`[sms]`, see reminders.rs), through a durable outbox. One row per booking and kind at most,
-- so each reminder is put in once; a cancelled booking's unsent reminder ends as failed.
CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    booking         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('reminder_day', 'reminder_hour')),
    mobile          TEXT NOT NULL,          -- +9665xxxxxxxx; '' once retention removed it
    body            TEXT NOT NULL,          -- '' once retention removed it
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
CREATE INDEX sms_outbox_unsent ON sms_outbox (next_attempt_at) WHERE state IN ('queued', 'sending');
