//! Device settings in one TOML file: `--config FILE` on a device's command line reads the file
//! and turns each `key = value` into the flag of the same name (`mqtt_url = "…"` is
//! `--mqtt-url …`, a list is comma-separated, `true` is a bare switch), placed before the flags
//! typed on the command line so that those win. Each app documents its keys in an example file.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dawr_protocol::endpoint::{DeviceLogin, EndpointError, MqttEndpoint};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    // The cause is in the message, so it is not also the error's `source` (printed twice).
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("{path}: {key} must be a string, a number, true/false or a list of those")]
    Value { path: String, key: String },
    #[error("--config needs a file")]
    MissingFile,
}

/// How a device app reaches the branch's broker: the same four flags (and settings-file keys
/// `mqtt_url`, `mqtt_username`, `mqtt_password_file`, `mqtt_ca_file`) in every app.
#[derive(Debug, Clone, clap::Args)]
pub struct MqttFlags {
    /// The branch's MQTT broker: mqtt://[user[:password]@]host[:port] (1883) or mqtts://… (8883)
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// The MQTT username [default: the device id]
    #[arg(long, value_name = "NAME")]
    pub mqtt_username: Option<String>,
    /// A file holding the MQTT password (its first line). Without one (and none in the URL), the
    /// device's entry in data/demo-devices.toml is used when that file exists.
    #[arg(long, value_name = "FILE")]
    pub mqtt_password_file: Option<PathBuf>,
    /// The CA certificate (PEM) the broker's certificate must chain to, for mqtts:// (print the
    /// branch's with `dawr-hub tls ca-cert`) [default: data/tls/ca.pem when it exists]
    #[arg(long, value_name = "FILE")]
    pub mqtt_ca_file: Option<PathBuf>,
}

impl MqttFlags {
    /// The endpoint for the device `device` (its id is its username and client id).
    pub fn endpoint(&self, device: &str) -> Result<MqttEndpoint, EndpointError> {
        DeviceLogin {
            url: &self.mqtt_url,
            device,
            username: self.mqtt_username.as_deref(),
            password_file: self.mqtt_password_file.as_deref(),
            ca_file: self.mqtt_ca_file.as_deref(),
        }
        .endpoint()
    }
}

/// A device app's start: logging (`RUST_LOG`, default `info`) and its command line with
/// `--config FILE` expanded (see [`expand_config`]).
pub fn device_command_line() -> Result<Vec<OsString>, SettingsError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    expand_config(std::env::args_os().collect())
}

fn flag_value(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Array(items) => items.iter().map(flag_value).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        _ => None,
    }
}

/// The flags a settings file stands for.
pub fn flags_from_toml(text: &str, path: &str) -> Result<Vec<OsString>, SettingsError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| SettingsError::Toml { path: path.to_string(), message: e.to_string() })?;
    let mut flags = Vec::new();
    for (key, value) in &table {
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            toml::Value::Boolean(true) => flags.push(flag.into()),
            toml::Value::Boolean(false) => {}
            other => {
                let value =
                    flag_value(other).ok_or_else(|| SettingsError::Value { path: path.into(), key: key.clone() })?;
                flags.push(flag.into());
                flags.push(value.into());
            }
        }
    }
    Ok(flags)
}

/// `args` (program name, subcommand, flags…) with `--config FILE` replaced by the file's flags,
/// inserted right after the subcommand so that flags on the command line override them (parse
/// with clap's `args_override_self`).
pub fn expand_config(args: Vec<OsString>) -> Result<Vec<OsString>, SettingsError> {
    let Some(at) = args.iter().position(|a| a == "--config") else { return Ok(args) };
    let path = args.get(at + 1).ok_or(SettingsError::MissingFile)?.clone();
    let shown = path.to_string_lossy().to_string();
    let text = std::fs::read_to_string(Path::new(&path))
        .map_err(|error| SettingsError::Read { path: shown.clone(), error })?;
    let flags = flags_from_toml(&text, &shown)?;
    let mut rest: Vec<OsString> = args;
    rest.drain(at..at + 2);
    let insert_at = rest.len().min(2);
    rest.splice(insert_at..insert_at, flags);
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_and_a_username_make_the_login_and_the_url_wins() {
        let dir = tempfile_dir("login");
        let file = dir.join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        let flags = MqttFlags {
            mqtt_url: "mqtt://hub.local".into(),
            mqtt_username: None,
            mqtt_password_file: Some(file.clone()),
            mqtt_ca_file: None,
        };
        let e = flags.endpoint("kiosk-2").unwrap();
        assert_eq!((e.tls, e.port, e.username.as_deref()), (false, 1883, Some("kiosk-2")));
        assert_eq!(e.password.unwrap().expose(), "s3cret");
        // TLS with a CA file that is not there stops the app at its start.
        let tls =
            MqttFlags { mqtt_url: "mqtts://hub.local".into(), mqtt_ca_file: Some(dir.join("ca.pem")), ..flags.clone() };
        assert!(tls.endpoint("kiosk-2").unwrap_err().to_string().contains("CA certificate"));
        let named = MqttFlags { mqtt_username: Some("lobby".into()), ..flags.clone() }.endpoint("kiosk-2").unwrap();
        assert_eq!(named.username.as_deref(), Some("lobby"));
        let in_url = MqttFlags { mqtt_url: "mqtt://u:p@h".into(), ..flags.clone() }.endpoint("kiosk-2").unwrap();
        assert_eq!((in_url.username.as_deref(), in_url.password.unwrap().expose()), (Some("u"), "p"));
        let missing = MqttFlags { mqtt_password_file: Some(dir.join("none")), ..flags }.endpoint("kiosk-2");
        assert!(missing.unwrap_err().to_string().contains("password file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dawr-settings-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_settings_file_becomes_flags_that_the_command_line_overrides() {
        let dir = std::env::temp_dir().join(format!("dawr-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("board.toml");
        std::fs::write(
            &file,
            "mqtt_url = \"mqtt://10.0.0.5:1883\"\ncounters = [\"1\", 2]\nwindowed = true\nhighlight_s = 10\n",
        )
        .unwrap();
        let args: Vec<OsString> = ["board", "run", "--config", file.to_str().unwrap(), "--highlight-s", "6"]
            .iter()
            .map(OsString::from)
            .collect();
        let expanded = expand_config(args).unwrap();
        let expanded: Vec<String> = expanded.iter().map(|a| a.to_string_lossy().to_string()).collect();
        assert_eq!(
            expanded,
            [
                "board",
                "run",
                "--counters",
                "1,2",
                "--highlight-s",
                "10",
                "--mqtt-url",
                "mqtt://10.0.0.5:1883",
                "--windowed",
                "--highlight-s",
                "6"
            ]
        );
        std::fs::write(&file, "counters = { a = 1 }\n").unwrap();
        let err = expand_config(vec!["b".into(), "run".into(), "--config".into(), file.clone().into()]).unwrap_err();
        assert!(err.to_string().contains("counters"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
