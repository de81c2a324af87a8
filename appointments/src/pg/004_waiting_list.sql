-- Dawr appointments schema on PostgreSQL, version 4: the waiting list of a full slot (see
-- ../store/007_waiting_list.sql, the same table and rules). The offer round runs on one replica
-- at a time (an advisory lock), and each offer is a conditional update of its entry.
CREATE TABLE waiting_list (
    handle      text        PRIMARY KEY,
    code_mac    bytea       NOT NULL,
    client      text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    state       text        NOT NULL DEFAULT 'unconfirmed' CHECK (state IN ('unconfirmed', 'waiting', 'offered')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    joined_at   timestamptz,
    offer       text,
    branch      text        NOT NULL,
    service     text        NOT NULL,
    start       timestamptz NOT NULL,
    local_day   date        NOT NULL,
    name        text        NOT NULL,
    national_id text        NOT NULL,
    phone       text        NOT NULL,
    lang        text        NOT NULL
);
CREATE UNIQUE INDEX waiting_list_one_per_slot ON waiting_list (branch, service, start, national_id)
    WHERE state <> 'unconfirmed';
CREATE INDEX waiting_list_line ON waiting_list (branch, service, start, joined_at) WHERE state = 'waiting';
CREATE INDEX waiting_list_phone ON waiting_list (phone, created_at);
CREATE INDEX waiting_list_client ON waiting_list (client, created_at);
