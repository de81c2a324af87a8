-- Dawr hub schema, version 9: how an exit-rating tablet's browser becomes its enrolled device
-- (see device_links.rs). `dawr-hub devices add --role rating` prints an enrolment link; opening
-- it sets a device cookie. Only SHA-256 hashes of the links' tokens and of the cookies are kept.
CREATE TABLE device_links (
    token_hash TEXT PRIMARY KEY,
    device     TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,    -- the device's enrolment it belongs to (devices.enrolled_at)
    created_at TEXT NOT NULL,
    expires_at TEXT,              -- NULL: never (the demo's own links)
    reusable   INTEGER NOT NULL,  -- 0: one use (printed links); 1: the demo's
    used_at    TEXT
);

-- A link or device cookie is good while its device stays enrolled as it was when the link was
-- made (revoked, or enrolled again: refused).
CREATE TABLE device_cookies (
    cookie_hash TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
