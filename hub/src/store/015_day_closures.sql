-- Dawr hub schema: days a manager closed, for one service or the whole branch (see
-- domain::queue::Closure). Written in the transaction of the cancellations it causes; the
-- appointments site is told from here (`site_told_at` NULL: not yet).
CREATE TABLE day_closures (
    local_day    TEXT NOT NULL,          -- the branch's local date
    service      TEXT NOT NULL,          -- a service code, or '' for the whole branch
    closed_by    TEXT NOT NULL,          -- the manager
    closed_at    TEXT NOT NULL,
    site_told_at TEXT,                   -- when the appointments site confirmed it
    PRIMARY KEY (local_day, service)
);
