//! Configuration going down: `dawr-central config push --branch B FILE` reads a branch's
//! configuration (TOML with the branch file's sections: `name`, `[routing]`, `[[services]]`,
//! `[[counters]]`, `[[staff]]`, `[satisfaction]`, `[cases]`), checks it as far as the centre can,
//! and puts it as JSON under key `B` of the KV bucket `dawr_config`, where that branch's hub reads
//! it. What only the branch can check (that no live visit loses its service or counter) it checks
//! when it applies it, and a refusal comes back in its live health. A whole branch file (with
//! its `[branch]` section) may be pushed too: its centre part goes.
use std::path::{Path, PathBuf};

use dawr_hub::config::{CentreConfig, Config, ConfigError};

/// Why a configuration cannot go to a branch.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Not TOML at all.
    #[error("{path}: {error}", path = path.display())]
    NotToml { path: PathBuf, error: toml::de::Error },
    /// TOML, but not a branch's configuration, or one the branch could not run.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("{path} is for branch {found:?}, not {wanted:?}", path = path.display())]
    OtherBranch { path: PathBuf, found: String, wanted: String },
    #[error("the configuration as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads and checks `text` (from `path`) as branch `branch`'s configuration; returns the JSON
/// to put, or why it cannot go.
pub fn prepare(text: &str, path: &Path, branch: &str) -> Result<Vec<u8>, PushError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|error| PushError::NotToml { path: path.to_path_buf(), error })?;
    let centre = match table.get("branch") {
        Some(toml::Value::Table(_)) => CentreConfig::of(&Config::parse(text, path)?),
        Some(_) => CentreConfig::from_toml(text, path)?,
        None => CentreConfig::from_toml(&format!("branch = {branch:?}\n{text}"), path)?,
    };
    if centre.branch != branch {
        return Err(PushError::OtherBranch {
            path: path.to_path_buf(),
            found: centre.branch,
            wanted: branch.to_string(),
        });
    }
    check(&centre)?;
    Ok(serde_json::to_vec(&centre)?)
}

/// The checks the centre can make without the branch's own file: merged onto a stand-in branch
/// with this id, the branch must be valid (services, counters and staff that fit together).
pub fn check(centre: &CentreConfig) -> Result<(), ConfigError> {
    let mut stand_in = Config::demo();
    stand_in.branch.id = centre.branch.clone();
    stand_in.with_centre(centre).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
name = { ar = "فرع", en = "Branch" }
[[services]]
code = "A"
name = { ar = "أ", en = "A" }
target_wait_min = 10
mean_service_min = 5
[[counters]]
id = "1"
name = { ar = "١", en = "1" }
services = ["A"]
"#;

    #[test]
    fn a_file_without_a_branch_takes_the_one_named_and_goes_as_json() {
        let json = prepare(FILE, Path::new("c.toml"), "b1").unwrap();
        let back: CentreConfig = serde_json::from_slice(&json).unwrap();
        assert_eq!((back.branch.as_str(), back.services.len(), back.format), ("b1", 1, 1));
    }

    #[test]
    fn a_configuration_that_cannot_run_or_names_another_branch_is_refused() {
        let bad = FILE.replace(r#"services = ["A"]"#, r#"services = ["Q"]"#);
        let cannot_run = prepare(&bad, Path::new("c.toml"), "b1").unwrap_err();
        assert!(matches!(cannot_run, PushError::Invalid(_)), "{cannot_run:?}");
        assert!(cannot_run.to_string().contains("unknown service \"Q\""), "{cannot_run}");
        let other = format!("branch = \"b2\"\n{FILE}");
        let for_b2 = prepare(&other, Path::new("c.toml"), "b1").unwrap_err();
        assert_eq!(for_b2.to_string(), r#"c.toml is for branch "b2", not "b1""#);
        assert!(matches!(prepare("name = 1", Path::new("c.toml"), "b1"), Err(PushError::Invalid(_))));
        let not_toml = prepare("name = ", Path::new("c.toml"), "b1").unwrap_err();
        assert!(matches!(not_toml, PushError::NotToml { .. }), "{not_toml:?}");
        assert!(not_toml.to_string().starts_with("c.toml: "), "{not_toml}");
    }

    #[test]
    fn a_whole_branch_file_sends_its_centre_part() {
        let json = prepare(dawr_hub::config::DEMO_TOML, Path::new("demo.toml"), "demo").unwrap();
        let back: CentreConfig = serde_json::from_slice(&json).unwrap();
        assert_eq!((back.branch.as_str(), back.counters.len()), ("demo", 8));
        assert!(prepare(dawr_hub::config::DEMO_TOML, Path::new("demo.toml"), "b1").is_err());
    }
}
