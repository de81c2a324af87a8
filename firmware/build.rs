//! Build script: linker setup for the RP2040, the device's settings and the release key
//! compiled in.
//!
//! Settings come from `device.toml` (see `device.example.toml`), overridden by `DAWR_*`
//! environment variables; without either, placeholders are used and a warning says so.
use std::env;
use std::fs;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    wifi_ssid: Option<String>,
    wifi_password: Option<String>,
    broker: Option<String>,
    branch: Option<String>,
    counter: Option<String>,
    device_id: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password: Option<String>,
    mode: Option<String>,
    cyw43_nvram: Option<String>,
}

fn setting(env_name: &str, file: &Option<String>, default: &str) -> String {
    println!("cargo:rerun-if-env-changed={env_name}");
    env::var(env_name).ok().or_else(|| file.clone()).unwrap_or_else(|| default.to_string())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // Linker: our memory map (the ACTIVE slot of the bootloader's flash map), cortex-m-rt's
    // link.x and defmt's sections. Not embassy-rp's -Tlink-rp.x: the second-stage bootloader
    // at 0x10000000 belongs to the bootloader's image (bootloader/), and app-memory.x drops it
    // here. The file is not named memory.x in this folder: cargo links every member of this
    // workspace from here, and the linker looks for `memory.x` in the current folder first, so
    // the bootloader would be linked with the application's map.
    fs::copy(manifest.join("app-memory.x"), out.join("memory.x")).expect("copy app-memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=app-memory.x");
    for arg in ["--nmagic", "-Tlink.x", "-Tdefmt.x"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }

    let device_toml = manifest.join("device.toml");
    println!("cargo:rerun-if-changed={}", device_toml.display());
    let file: DeviceFile = match fs::read_to_string(&device_toml) {
        Ok(text) => toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", device_toml.display())),
        Err(_) => DeviceFile::default(),
    };
    if !device_toml.exists() && env::var("DAWR_WIFI_SSID").is_err() {
        println!("cargo:warning=no device.toml: building with placeholder Wi-Fi and broker settings");
    }
    let ssid = setting("DAWR_WIFI_SSID", &file.wifi_ssid, "branch-devices");
    let password = setting("DAWR_WIFI_PASSWORD", &file.wifi_password, "");
    let broker = setting("DAWR_BROKER", &file.broker, "192.168.10.2:1883");
    let branch = setting("DAWR_BRANCH", &file.branch, "demo");
    let counter = setting("DAWR_COUNTER", &file.counter, "1");
    let mode = setting("DAWR_MODE", &file.mode, "counter");
    let rating_mode = match mode.as_str() {
        "counter" => false,
        "rating" => true,
        other => panic!("mode {other:?} must be \"counter\" or \"rating\""),
    };
    let kind = if rating_mode { "rating" } else { "button" };
    let device_id = setting("DAWR_DEVICE_ID", &file.device_id, &format!("{kind}-{counter}"));
    // The device's MQTT account (`dawr-hub devices add` prints it); the username is the device
    // id unless set. Without a password the button connects anonymously (an open broker only).
    let mqtt_username = setting("DAWR_MQTT_USERNAME", &file.mqtt_username, &device_id);
    let mqtt_password = setting("DAWR_MQTT_PASSWORD", &file.mqtt_password, "");
    if mqtt_password.is_empty() {
        println!("cargo:warning=no mqtt_password in device.toml: the button will connect without one");
    }
    assert!(mqtt_password.len() <= 128, "mqtt_password is longer than 128 bytes");
    let broker: SocketAddrV4 = broker.parse().unwrap_or_else(|_| panic!("broker {broker:?} must be IPv4:port"));
    for (name, id) in [("branch", &branch), ("counter", &counter), ("device_id", &device_id)] {
        assert!(valid_id(id), "{name} {id:?} must be 1-32 characters of A-Z a-z 0-9 _ -");
    }
    let [a, b, c, d] = broker.ip().octets();
    let config = format!(
        "pub const WIFI_SSID: &str = {ssid:?};\n\
         pub const WIFI_PASSWORD: &str = {password:?};\n\
         pub const BROKER_IP: [u8; 4] = [{a}, {b}, {c}, {d}];\n\
         pub const BROKER_PORT: u16 = {};\n\
         pub const BRANCH: &str = {branch:?};\n\
         pub const COUNTER: &str = {counter:?};\n\
         pub const DEVICE_ID: &str = {device_id:?};\n\
         pub const MQTT_USERNAME: &str = {mqtt_username:?};\n\
         pub const MQTT_PASSWORD: &str = {mqtt_password:?};\n\
         pub const RATING_MODE: bool = {rating_mode};\n",
        broker.port()
    );
    fs::write(out.join("device_config.rs"), config).expect("write device_config.rs");

    // The CYW43439 NVRAM (board calibration) file: not on crates.io, so provided at build time.
    let candidates = [
        env::var("DAWR_CYW43_NVRAM").ok().map(PathBuf::from),
        file.cyw43_nvram.as_ref().map(|p| manifest.join(p)),
        Some(manifest.join("blobs/nvram_rp2040.bin")),
        Some(manifest.join("../../shared/firmware/nvram_rp2040.bin")),
    ];
    println!("cargo:rerun-if-env-changed=DAWR_CYW43_NVRAM");
    let nvram = candidates.into_iter().flatten().find(|p: &PathBuf| p.is_file()).unwrap_or_else(|| {
        panic!(
            "the CYW43439 NVRAM file nvram_rp2040.bin was not found: put it in firmware/blobs/ or set \
             DAWR_CYW43_NVRAM (see firmware/README.md, \"Wi-Fi blobs\")"
        )
    });
    println!("cargo:rerun-if-changed={}", nvram.display());
    copy_checked(&nvram, &out.join("nvram.bin"));

    release_key(&manifest, &out);
}

/// The release key's public half, built in: the file `DAWR_RELEASE_PUBKEY` names (64 hex digits,
/// as `dawr-hub firmware keygen` prints it), else the demo key in `keys/demo-release.pub`, whose
/// secret half was thrown away when it was made: a build with it accepts no update.
fn release_key(manifest: &Path, out: &Path) {
    println!("cargo:rerun-if-env-changed=DAWR_RELEASE_PUBKEY");
    let demo = manifest.join("keys/demo-release.pub");
    let path = match env::var("DAWR_RELEASE_PUBKEY") {
        Ok(path) => PathBuf::from(path),
        Err(_) => {
            println!(
                "cargo:warning=DAWR_RELEASE_PUBKEY is not set: the demo release key is built in, and this \
                 button will accept no update (see firmware/README.md, \"Updates\")"
            );
            demo.clone()
        }
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("release key {}: {e}", path.display()));
    let key = parse_key(text.trim())
        .unwrap_or_else(|| panic!("{} must hold an Ed25519 public key as 64 hex digits", path.display()));
    let bytes = key.iter().map(|b| format!("{b:#04x}")).collect::<Vec<_>>().join(", ");
    let code = format!(
        "/// The release key's Ed25519 public key.\npub const RELEASE_KEY: [u8; 32] = [{bytes}];\n\
         /// Whether it is the demo key (no update verifies).\npub const DEMO_KEY: bool = {};\n",
        path == demo
    );
    fs::write(out.join("release_key.rs"), code).expect("write release_key.rs");
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

fn copy_checked(from: &Path, to: &Path) {
    let bytes = fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    assert!(
        bytes.len() < 4096 && bytes.starts_with(b"NVRAMRev"),
        "{} does not look like a CYW43 NVRAM file",
        from.display()
    );
    fs::write(to, bytes).expect("write nvram.bin");
}
