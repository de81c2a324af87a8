//! Device settings in one TOML file: `--config FILE` on a device's command line reads the file
//! and turns each `key = value` into the flag of the same name (`mqtt_url = "…"` is
//! `--mqtt-url …`, a list is comma-separated, `true` is a bare switch), placed before the flags
//! typed on the command line so that those win. Each app documents its keys in an example file.
use std::ffi::OsString;
use std::path::Path;

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
    #[error("{0:?} is not an MQTT address like mqtt://127.0.0.1:1883")]
    BrokerAddress(String),
}

/// A device app's start: logging (`RUST_LOG`, default `info`) and its command line with
/// `--config FILE` expanded (see [`expand_config`]).
pub fn device_command_line() -> Result<Vec<OsString>, SettingsError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    expand_config(std::env::args_os().collect())
}

/// `mqtt://HOST[:PORT]` as host and port (1883 when left out).
pub fn broker_address(url: &str) -> Result<(String, u16), SettingsError> {
    let bad = || SettingsError::BrokerAddress(url.to_string());
    let rest = url.strip_prefix("mqtt://").filter(|r| !r.is_empty()).ok_or_else(bad)?;
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Ok((host.to_string(), port.parse().map_err(|_| bad())?)),
        Some(_) => Err(bad()),
        None => Ok((rest.to_string(), 1883)),
    }
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
    fn broker_addresses_are_read() {
        assert_eq!(broker_address("mqtt://10.0.0.5:1884").unwrap(), ("10.0.0.5".to_string(), 1884));
        assert_eq!(broker_address("mqtt://hub.local").unwrap(), ("hub.local".to_string(), 1883));
        assert!(broker_address("http://hub:1883").is_err());
        assert!(broker_address("mqtt://hub:port").is_err());
        assert!(broker_address("mqtt://").is_err());
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
