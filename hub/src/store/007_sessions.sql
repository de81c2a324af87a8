-- Dawr hub schema: staff sessions (see auth/store.rs), kept so a hub restart signs nobody out.
-- Only the SHA-256 of each bearer token is stored: a copy of the database opens no session.
-- Who the session's person is (name, role, counters) is read from the branch file at start-up;
-- a session whose person is gone from the file, or whose counter is no longer theirs, is deleted.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    staff TEXT NOT NULL,
    counter TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_staff ON sessions (staff);
