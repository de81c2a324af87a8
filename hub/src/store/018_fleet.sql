-- Dawr hub schema: the counter buttons' fleet view (docs/PROTOCOL.md, Presence): what a button's
-- last `online` presence said about it, kept across restarts of the hub and while it is offline.
ALTER TABLE device_presence ADD COLUMN firmware TEXT;
ALTER TABLE device_presence ADD COLUMN uptime_s INTEGER;
ALTER TABLE device_presence ADD COLUMN rssi INTEGER;
ALTER TABLE device_presence ADD COLUMN reset TEXT;
