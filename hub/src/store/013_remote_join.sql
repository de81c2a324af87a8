-- Dawr hub schema: joining the queue from a phone (see join/mod.rs).
ALTER TABLE visits ADD COLUMN arrived_at TEXT;  -- a remote ticket's check-in at the kiosk
ALTER TABLE visits ADD COLUMN held_at TEXT;     -- a remote ticket first passed over at the front

-- One-time codes that confirm a mobile before a remote ticket is issued. The code itself is
-- never stored: only its HMAC under the hub's secret key, bound to the handle.
CREATE TABLE join_codes (
    handle      TEXT PRIMARY KEY,      -- random, in the confirmation page's address
    mobile      TEXT NOT NULL,         -- +9665xxxxxxxx
    service     TEXT NOT NULL,
    lang        TEXT NOT NULL CHECK (lang IN ('ar', 'en')),
    code_mac    BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,  -- wrong codes typed
    used_at     TEXT
);
CREATE INDEX join_codes_mobile ON join_codes (mobile, created_at);

-- Remote tickets: the mobile that confirmed each, and the code its holder checks in with at
-- the kiosk (typed, or scanned from the ticket page's QR).
CREATE TABLE remote_joins (
    visit_id     INTEGER PRIMARY KEY REFERENCES visits (id),
    mobile       TEXT NOT NULL,
    checkin_code TEXT NOT NULL UNIQUE,
    joined_at    TEXT NOT NULL
);
CREATE INDEX remote_joins_mobile ON remote_joins (mobile);

-- "Please check in at the kiosk", sent once to a remote ticket passed over at the front.
ALTER TABLE sms_subscriptions ADD COLUMN checkin_sent INTEGER NOT NULL DEFAULT 0;
