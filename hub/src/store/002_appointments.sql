-- Dawr hub schema, version 2: bookings from the appointments site.
-- Written by the appointments link (crate::appointments), not by the queue's writer thread.

-- This branch's bookings as last pulled from the appointments site, and what happened here.
CREATE TABLE bookings (
    code          TEXT PRIMARY KEY,
    service       TEXT NOT NULL,
    start         TEXT NOT NULL,     -- the slot
    end_at        TEXT NOT NULL,
    local_day     TEXT NOT NULL,
    remote_status TEXT NOT NULL,     -- booked, cancelled, checked_in, no_show (the site's view)
    pulled_at     TEXT NOT NULL,
    checked_in_at TEXT,              -- set here when the kiosk checks the booking in
    visit_id      INTEGER,           -- the ticket it got
    no_show_at    TEXT               -- set here when the check-in window closed without it
) WITHOUT ROWID;
CREATE INDEX bookings_day ON bookings (local_day);

-- Reports for the appointments site, kept until it acknowledges them.
CREATE TABLE booking_outbox (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,
    status     TEXT NOT NULL,        -- checked_in or no_show
    at         TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
