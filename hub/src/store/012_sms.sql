-- Dawr hub schema: the SMS outbox (see sms/mod.rs).
CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL UNIQUE,  -- ours, given to a gateway that can de-duplicate on it
    mobile          TEXT NOT NULL,         -- +9665xxxxxxxx
    kind            TEXT NOT NULL,         -- what the message is for (test, otp, near, called, …)
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    -- queued → sending (handed to the gateway, outcome not yet recorded) → submitted →
    -- delivered | failed
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'submitted', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    submitted_at    TEXT,
    done_at         TEXT,
    parts           INTEGER
);
CREATE INDEX sms_outbox_unsent ON sms_outbox (mobile, id) WHERE state IN ('queued', 'sending');
CREATE INDEX sms_outbox_created ON sms_outbox (created_at);

-- The gateway's id of each part submitted, to match its delivery receipts. A receipt may come
-- before the submission's answer is recorded: its row then waits without a message.
CREATE TABLE sms_parts (
    gateway_id TEXT PRIMARY KEY,
    message    INTEGER REFERENCES sms_outbox (id),
    state      TEXT NOT NULL DEFAULT 'submitted' CHECK (state IN ('submitted', 'delivered', 'failed'))
);
CREATE INDEX sms_parts_message ON sms_parts (message);

-- Mobiles that answered STOP / إلغاء: nothing more is sent to them (except a code they ask for).
CREATE TABLE sms_opt_outs (
    mobile TEXT PRIMARY KEY,
    at     TEXT NOT NULL
);

-- Tickets whose holder gave a mobile for messages: N ahead and called, each sent once.
CREATE TABLE sms_subscriptions (
    visit_id    INTEGER PRIMARY KEY REFERENCES visits (id),
    mobile      TEXT NOT NULL,
    lang        TEXT NOT NULL CHECK (lang IN ('ar', 'en')),
    created_at  TEXT NOT NULL,
    near_sent   INTEGER NOT NULL DEFAULT 0,
    called_sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sms_subscriptions_open ON sms_subscriptions (visit_id) WHERE called_sent = 0;
