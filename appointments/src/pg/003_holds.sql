-- Dawr appointments schema on PostgreSQL, version 3: bookings held until a one-time code sent by
-- SMS confirms them (see ../store/006_holds.sql, the same table and rules).
CREATE TABLE booking_holds (
    handle      text        PRIMARY KEY,
    code_mac    bytea       NOT NULL,
    client      text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    state       text        NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'confirmed', 'released')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    code        text        NOT NULL,
    token       text        NOT NULL,
    branch      text        NOT NULL,
    service     text        NOT NULL,
    start       timestamptz NOT NULL,
    local_day   date        NOT NULL,
    name        text        NOT NULL,
    national_id text        NOT NULL,
    phone       text        NOT NULL,
    lang        text        NOT NULL
);
CREATE INDEX booking_holds_phone ON booking_holds (phone, created_at);
CREATE INDEX booking_holds_client ON booking_holds (client, created_at);
CREATE INDEX booking_holds_held ON booking_holds (expires_at) WHERE state = 'held';

-- A cancelled booking keeps its place until its branch's hub has pulled its day since (a hub that
-- never heard of the cancellation could check the booking in from its signed token while its
-- link is down); the pull gives the place back.
ALTER TABLE bookings ADD COLUMN place_held boolean NOT NULL DEFAULT false;
