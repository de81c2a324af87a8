-- Dawr appointments schema on PostgreSQL, version 2: days a branch closed (told by its hub;
-- their bookings are cancelled and their slots show no place).
CREATE TABLE day_closures (
    branch    text NOT NULL,
    service   text NOT NULL,           -- a service code, or '' for every service
    local_day date NOT NULL,
    closed_at timestamptz NOT NULL,
    PRIMARY KEY (branch, local_day, service)
);
