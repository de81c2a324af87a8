-- The monthly report e-mailed to the managers (alerts::monthly): the alert e-mail outbox carries
-- a file (the report's PDF), and a row per branch and month queued keeps the sending to once a
-- month, across restarts.
ALTER TABLE alert_mail ADD COLUMN attachment_name TEXT;
ALTER TABLE alert_mail ADD COLUMN attachment BLOB;
CREATE TABLE monthly_report_mail (
    branch    TEXT NOT NULL,
    month     TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    PRIMARY KEY (branch, month)
);
