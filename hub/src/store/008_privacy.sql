-- Dawr hub schema, version 8: personal data under PDPL (see privacy/ and audit.rs).

-- A case's visitor as a keyed hash (HMAC-SHA256 with the branch's secret, `visitor.key` in the
-- data directory): what matching a visitor's earlier visits uses. The plain `visitor` is kept
-- only within the retention window, where staff are shown it.
ALTER TABLE case_notes ADD COLUMN visitor_hash TEXT;
CREATE INDEX case_notes_visitor_hash ON case_notes (visitor_hash) WHERE visitor_hash IS NOT NULL;
-- The plain visitor was matched on before; the hash replaces it.
DROP INDEX case_notes_visitor;
-- When retention (or an erasure) removed what people wrote on the case.
ALTER TABLE case_notes ADD COLUMN purged_at TEXT;

-- Who did what: append-only. No code updates or deletes a row, and these triggers refuse it.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,       -- a staff id, 'system', or the id tried at a failed sign-in
    action  TEXT NOT NULL,       -- sign_in, sign_in_failed, case_edited, ... (AuditAction)
    subject TEXT,                -- a case reference, a counter, a device
    before  TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings
    after   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
