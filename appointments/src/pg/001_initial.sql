-- Dawr appointments on PostgreSQL, version 1 (this engine's own migration set; SQLite's is in
-- ../store). The same tables and rules as the SQLite schema at its version 4.

-- A row per slot with its places taken: a booking takes a place with
-- `UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity` in the transaction
-- that inserts it. Under READ COMMITTED a waiting update re-checks its WHERE on the row version
-- the other transaction committed, so the last place is taken once.
CREATE TABLE slots (
    id        bigserial   PRIMARY KEY,
    branch    text        NOT NULL,
    service   text        NOT NULL,
    start     timestamptz NOT NULL,
    local_day date        NOT NULL,
    capacity  integer     NOT NULL,
    booked    integer     NOT NULL DEFAULT 0 CHECK (booked >= 0),
    UNIQUE (branch, service, start)
);
CREATE INDEX slots_day ON slots (branch, service, local_day);

-- Every booking ever made (cancelled ones stay, with their status).
CREATE TABLE bookings (
    code        text        PRIMARY KEY,
    token       text        NOT NULL UNIQUE,
    branch      text        NOT NULL,
    service     text        NOT NULL,
    start       timestamptz NOT NULL,
    local_day   date        NOT NULL,
    name        text,                    -- NULL once retention or an erasure removed it
    national_id text,
    phone       text,
    lang        text        NOT NULL,
    status      text        NOT NULL,    -- booked, cancelled, checked_in, no_show
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    reported_at timestamptz,
    purged_at   timestamptz
);
CREATE INDEX bookings_day ON bookings (branch, local_day);
-- One active booking per ID number per service per day.
CREATE UNIQUE INDEX bookings_one_per_day ON bookings (branch, service, local_day, national_id)
    WHERE status IN ('booked', 'checked_in');
CREATE INDEX bookings_national_id ON bookings (national_id) WHERE national_id IS NOT NULL;
CREATE INDEX bookings_phone ON bookings (phone) WHERE phone IS NOT NULL;
