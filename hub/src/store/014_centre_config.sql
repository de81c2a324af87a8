-- Dawr hub schema: the configuration the ministry's centre pushed down (see uplink/config.rs).
-- One row: the last good configuration (its KV revision and JSON body) the hub applied, which it
-- runs again after a restart, with or without the centre; and the last one it refused, why.
CREATE TABLE centre_config (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    revision        INTEGER,
    body            TEXT,
    applied_at      TEXT,
    refused_revision INTEGER,
    refused_reason  TEXT
);
INSERT INTO centre_config (id) VALUES (1);
