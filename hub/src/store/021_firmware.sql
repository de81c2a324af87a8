-- Dawr hub schema: signed firmware updates for counter buttons (docs/PROTOCOL.md, "Firmware
-- updates"): the images published (their bytes are files in DATA_DIR/firmware/), the buttons a
-- manager chose to offer one, and each button's last update report.
CREATE TABLE firmware_images (
    version      TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,      -- hex
    signature    TEXT NOT NULL,      -- the release key's Ed25519 signature over the manifest, hex
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL
);
CREATE TABLE firmware_rollouts (
    device    TEXT PRIMARY KEY,
    version   TEXT NOT NULL REFERENCES firmware_images (version),
    chosen_at TEXT NOT NULL,
    chosen_by TEXT NOT NULL
);
CREATE TABLE firmware_states (
    device TEXT PRIMARY KEY,
    report TEXT NOT NULL,            -- the button's UpdateReport, JSON
    at     TEXT NOT NULL
);
