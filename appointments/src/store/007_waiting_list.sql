-- Dawr appointments schema, version 7: the waiting list of a full slot. A citizen joins with the
-- slot, their details and a one-time code sent by SMS to the mobile given; the entry counts (and
-- takes its place in line, `joined_at`) once that code is typed. When a place frees (a pulled
-- cancellation, an expired hold, …), the first in line is offered it: the place is taken for them
-- as a hold (`booking_holds`, with a code of its own sent by SMS) kept `[waiting_list]
-- hold_minutes`; confirmed in time it becomes their booking, else it gives the place back and the
-- next in line is offered it. While anyone waits for a slot, its freed places go to the line, not
-- to whoever books first. One entry per ID number per slot; the codes are never stored, only
-- their HMAC.
CREATE TABLE waiting_list (
    handle      TEXT PRIMARY KEY,      -- random, in the entry page's address
    code_mac    BLOB NOT NULL,         -- the joining code's HMAC
    client      TEXT NOT NULL,         -- the address that asked (an IPv4 address or an IPv6 /64)
    attempts    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'unconfirmed' CHECK (state IN ('unconfirmed', 'waiting', 'offered')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,         -- the joining code's
    joined_at   TEXT,                  -- when the joining code was typed: the place in line
    offer       TEXT,                  -- the hold offered (booking_holds.handle)
    branch      TEXT NOT NULL,
    service     TEXT NOT NULL,
    start       TEXT NOT NULL,
    local_day   TEXT NOT NULL,
    name        TEXT NOT NULL,
    national_id TEXT NOT NULL,
    phone       TEXT NOT NULL,
    lang        TEXT NOT NULL
);
CREATE UNIQUE INDEX waiting_list_one_per_slot ON waiting_list (branch, service, start, national_id)
    WHERE state <> 'unconfirmed';
CREATE INDEX waiting_list_line ON waiting_list (branch, service, start, joined_at) WHERE state = 'waiting';
CREATE INDEX waiting_list_phone ON waiting_list (phone, created_at);
CREATE INDEX waiting_list_client ON waiting_list (client, created_at);
