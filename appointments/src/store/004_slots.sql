-- Dawr appointments schema, version 4: a row per slot, holding its places taken.
-- A booking takes a place with a conditional update of its slot's row
-- (`booked = booked + 1 ... AND booked < capacity`) in the transaction that inserts it, the
-- same rule the PostgreSQL schema keeps; a job makes the rows for the booking horizon.
CREATE TABLE slots (
    id        INTEGER PRIMARY KEY,
    branch    TEXT    NOT NULL,
    service   TEXT    NOT NULL,
    start     TEXT    NOT NULL,        -- as bookings.start
    local_day TEXT    NOT NULL,        -- the slot's date at the branch
    capacity  INTEGER NOT NULL,        -- places (the site file's, kept in step by the job)
    booked    INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0), -- bookings not cancelled
    UNIQUE (branch, service, start)
);
CREATE INDEX slots_day ON slots (branch, service, local_day);
-- The slots that already have bookings, full until the job sets their capacity from the site file.
INSERT INTO slots (branch, service, start, local_day, capacity, booked)
    SELECT branch, service, start, local_day, COUNT(*), COUNT(*) FROM bookings
    WHERE status <> 'cancelled' GROUP BY branch, service, start, local_day;
