-- Dawr hub schema: protocol 1.1 (docs/PROTOCOL.md, "Versions").
-- A command's body beside its reply, so a repeated id with another body is refused `id_reused`
-- (NULL in rows written before: any body matches them). `counter` now holds the id's scope: the
-- counter, or `counter/device` for a command that names its device.
ALTER TABLE command_log ADD COLUMN body TEXT;

-- The last presence heard from each client, so the device list survives a restart of the hub
-- (and of its embedded broker, which keeps no retained messages): a device that does not come
-- back shows offline, with when it was last seen.
CREATE TABLE device_presence (
    device  TEXT PRIMARY KEY,
    status  TEXT NOT NULL,
    printer TEXT,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
