-- Dawr appointments schema, version 6: a booking confirmed by a one-time code sent by SMS to the
-- mobile given (`[sms] confirm_bookings`). Until the code is typed, the booking is a hold: it has
-- taken its place in the slot's row (so the place cannot go while the citizen reads the text),
-- and becomes a booking on the right code without taking a second one. A hold the code never
-- confirmed gives its place back when it expires. The code is never stored: only its HMAC.
-- Rows stay an hour after they end, to count the codes a mobile and an address were sent.
CREATE TABLE booking_holds (
    handle      TEXT PRIMARY KEY,      -- random, in the confirmation page's address
    code_mac    BLOB NOT NULL,
    client      TEXT NOT NULL,         -- the address that asked (an IPv4 address or an IPv6 /64)
    attempts    INTEGER NOT NULL DEFAULT 0,  -- wrong codes typed
    state       TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'confirmed', 'released')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    -- The booking it becomes.
    code        TEXT NOT NULL,
    token       TEXT NOT NULL,
    branch      TEXT NOT NULL,
    service     TEXT NOT NULL,
    start       TEXT NOT NULL,
    local_day   TEXT NOT NULL,
    name        TEXT NOT NULL,
    national_id TEXT NOT NULL,
    phone       TEXT NOT NULL,
    lang        TEXT NOT NULL
);
CREATE INDEX booking_holds_phone ON booking_holds (phone, created_at);
CREATE INDEX booking_holds_client ON booking_holds (client, created_at);
CREATE INDEX booking_holds_held ON booking_holds (expires_at) WHERE state = 'held';

-- A cancelled booking keeps its place until its branch's hub has pulled its day since (a hub that
-- never heard of the cancellation could check the booking in from its signed token while its
-- link is down); the pull gives the place back.
ALTER TABLE bookings ADD COLUMN place_held INTEGER NOT NULL DEFAULT 0;
