-- Dawr appointments schema, version 2: personal data under PDPL.
-- A booking's name, ID number and mobile are removed when its retention ends (`[retention]`) or
-- when the person's data is erased; the booking itself (branch, service, slot, what happened)
-- stays. The three columns become nullable (SQLite changes a column's constraint only by
-- rebuilding its table), and `purged_at` says when they were removed.
CREATE TABLE bookings_v2 (
    code        TEXT PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,
    branch      TEXT NOT NULL,
    service     TEXT NOT NULL,
    start       TEXT NOT NULL,
    local_day   TEXT NOT NULL,
    name        TEXT,                   -- NULL once removed
    national_id TEXT,                   -- NULL once removed
    phone       TEXT,                   -- NULL once removed
    lang        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    reported_at TEXT,
    purged_at   TEXT                    -- when the name, ID number and mobile were removed
) WITHOUT ROWID;
INSERT INTO bookings_v2 (code, token, branch, service, start, local_day, name, national_id, phone, lang, status,
                         created_at, updated_at, reported_at)
    SELECT code, token, branch, service, start, local_day, name, national_id, phone, lang, status,
           created_at, updated_at, reported_at FROM bookings;
DROP TABLE bookings;
ALTER TABLE bookings_v2 RENAME TO bookings;
CREATE INDEX bookings_slot ON bookings (branch, service, start) WHERE status <> 'cancelled';
CREATE INDEX bookings_day ON bookings (branch, local_day);
CREATE UNIQUE INDEX bookings_one_per_day ON bookings (branch, service, local_day, national_id)
    WHERE status IN ('booked', 'checked_in');
-- A person's bookings (export, erasure), and the bookings retention has not reached yet.
CREATE INDEX bookings_national_id ON bookings (national_id) WHERE national_id IS NOT NULL;
CREATE INDEX bookings_phone ON bookings (phone) WHERE phone IS NOT NULL;
