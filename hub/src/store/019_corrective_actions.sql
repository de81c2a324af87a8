-- Dawr hub schema: corrective actions a manager records against a root cause of low ratings
-- (a rating reason or a case category), with their owner, due date and status; who created
-- and who last changed each. Their effect is computed from the event log, never stored.
CREATE TABLE corrective_actions (
    id          INTEGER PRIMARY KEY,
    cause_kind  TEXT NOT NULL CHECK (cause_kind IN ('reason', 'category')),
    cause       TEXT NOT NULL,
    service     TEXT,                    -- a service code; NULL: every service
    action      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    due         TEXT NOT NULL,           -- local date
    starts      TEXT NOT NULL,           -- local date the effect is measured from
    status      TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'done', 'dropped')),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
