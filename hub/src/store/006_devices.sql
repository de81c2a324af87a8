-- Dawr hub schema, version 6: enrolled devices (see devices.rs). A device's id is also its MQTT
-- username and client id. Only a hash of its password is kept (Mosquitto's `$7$` PBKDF2-SHA512
-- format, so the same line can go into Mosquitto's password file). A revoked device keeps its row
-- (with `revoked_at`) until it is enrolled again with a new password.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    counter       TEXT,
    password_hash TEXT NOT NULL,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT
);
