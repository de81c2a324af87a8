-- Dawr hub schema: live alerts to the branch's managers (see alerts/mod.rs).
-- One row per condition ever raised: when it was last sent, and whether it still holds.
CREATE TABLE alerts (
    key            TEXT PRIMARY KEY,      -- service:A, paused:2, printer:kiosk-1, offline:board-1, escalation:{case}
    kind           TEXT NOT NULL,
    holding        INTEGER NOT NULL,      -- 1 while the condition holds (and was sent)
    since          TEXT NOT NULL,
    last_raised_at TEXT NOT NULL
);

-- The e-mail outbox: a row per alert and recipient, kept until the SMTP server took it.
CREATE TABLE alert_mail (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX alert_mail_unsent ON alert_mail (next_attempt_at) WHERE state = 'queued';
