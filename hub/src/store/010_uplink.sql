-- Dawr hub schema: the uplink to the ministry's centre (see uplink/).
-- One row: the UUID of this database's event log (made here, so a restored or replaced disk
-- starts a new log at the centre instead of colliding with the old one) and the last event
-- sequence JetStream has acknowledged (every event up to it is at the centre).
CREATE TABLE uplink_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    log_id   TEXT NOT NULL,
    last_seq INTEGER NOT NULL
);
INSERT INTO uplink_cursor (id, log_id, last_seq) VALUES (1,
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)
    || '-' || lower(hex(randomblob(6))),
    0);
