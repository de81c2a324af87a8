-- Dawr hub schema: case notes to the ministry's centre (see uplink/). Every change to a case's
-- notes (category, notes, closing) is numbered here, in the transaction that makes it, so the
-- uplink sends them in order and moves its cursor (`uplink_cursor.case_seq`) only when
-- JetStream acknowledges. Notes written before this migration are numbered first.
CREATE TABLE case_note_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_ref TEXT NOT NULL
);
INSERT INTO case_note_changes (case_ref) SELECT case_ref FROM case_notes ORDER BY updated_at, case_ref;
CREATE TRIGGER case_notes_written AFTER INSERT ON case_notes BEGIN
    INSERT INTO case_note_changes (case_ref) VALUES (NEW.case_ref);
END;
CREATE TRIGGER case_notes_changed AFTER UPDATE OF category, notes, closed_at, closed_by, updated_at ON case_notes BEGIN
    INSERT INTO case_note_changes (case_ref) VALUES (NEW.case_ref);
END;
ALTER TABLE uplink_cursor ADD COLUMN case_seq INTEGER NOT NULL DEFAULT 0;
