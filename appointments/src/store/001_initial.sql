-- Dawr appointments schema, version 1.
-- Times are RFC 3339 text in UTC with milliseconds ('2026-11-23T09:15:00.000Z'): they sort as text.

-- Every booking ever made (cancelled ones stay, with their status).
CREATE TABLE bookings (
    code        TEXT PRIMARY KEY,       -- what the citizen shows at the kiosk (QR) and types to look it up
    token       TEXT NOT NULL UNIQUE,   -- secret part of the booking page's address
    branch      TEXT NOT NULL,
    service     TEXT NOT NULL,
    start       TEXT NOT NULL,          -- the slot's start
    local_day   TEXT NOT NULL,          -- the slot's date at the branch
    name        TEXT NOT NULL,
    national_id TEXT NOT NULL,
    phone       TEXT NOT NULL,          -- +9665xxxxxxxx
    lang        TEXT NOT NULL,          -- ar or en
    status      TEXT NOT NULL,          -- booked, cancelled, checked_in, no_show
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    reported_at TEXT                    -- when the branch hub reported the check-in or no-show
) WITHOUT ROWID;
-- Places taken in a slot (counted inside the booking transaction).
CREATE INDEX bookings_slot ON bookings (branch, service, start) WHERE status <> 'cancelled';
-- A branch's day, for its hub.
CREATE INDEX bookings_day ON bookings (branch, local_day);
-- One active booking per ID number per service per day, whatever the code checks first.
CREATE UNIQUE INDEX bookings_one_per_day ON bookings (branch, service, local_day, national_id)
    WHERE status IN ('booked', 'checked_in');
