//! Configuration going down: `dawr-central config push --branch B FILE` reads a branch's
//! configuration (TOML with the branch file's sections: `name`, `[routing]`, `[[services]]`,
//! `[[counters]]`, `[[staff]]`, `[satisfaction]`, `[cases]`), checks it as far as the centre can,
//! and puts it as JSON under key `B` of the KV bucket `dawr_config`, where that branch's hub reads
//! it. What only the branch can check (that no live visit loses its service or counter) it checks
//! when it applies it, and a refusal comes back in its live health. A whole branch file (with
//! its `[branch]` section) may be pushed too: its centre part goes.
use std::path::Path;

use dawr_hub::config::{CentreConfig, Config};

/// Reads and checks `text` (from `path`) as branch `branch`'s configuration; returns the JSON
/// to put, or why it cannot go.
pub fn prepare(text: &str, path: &Path, branch: &str) -> Result<Vec<u8>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let centre = match table.get("branch") {
        Some(toml::Value::Table(_)) => CentreConfig::of(&Config::parse(text, path).map_err(|e| e.to_string())?),
        Some(_) => CentreConfig::from_toml(text, path).map_err(|e| e.to_string())?,
        None => CentreConfig::from_toml(&format!("branch = {branch:?}\n{text}"), path).map_err(|e| e.to_string())?,
    };
    if centre.branch != branch {
        return Err(format!("{} is for branch {:?}, not {branch:?}", path.display(), centre.branch));
    }
    check(&centre)?;
    serde_json::to_vec(&centre).map_err(|e| e.to_string())
}

/// The checks the centre can make without the branch's own file: merged onto a stand-in branch
/// with this id, the branch must be valid (services, counters and staff that fit together).
pub fn check(centre: &CentreConfig) -> Result<(), String> {
    let mut stand_in = Config::demo();
    stand_in.branch.id = centre.branch.clone();
    stand_in.with_centre(centre).map(drop).map_err(|e| e.to_string())
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
        assert!(prepare(&bad, Path::new("c.toml"), "b1").unwrap_err().contains("unknown service \"Q\""));
        let other = format!("branch = \"b2\"\n{FILE}");
        assert!(prepare(&other, Path::new("c.toml"), "b1").unwrap_err().contains("for branch \"b2\""));
        assert!(prepare("name = 1", Path::new("c.toml"), "b1").is_err());
    }

    #[test]
    fn a_whole_branch_file_sends_its_centre_part() {
        let json = prepare(dawr_hub::config::DEMO_TOML, Path::new("demo.toml"), "demo").unwrap();
        let back: CentreConfig = serde_json::from_slice(&json).unwrap();
        assert_eq!((back.branch.as_str(), back.counters.len()), ("demo", 8));
        assert!(prepare(dawr_hub::config::DEMO_TOML, Path::new("demo.toml"), "b1").is_err());
    }
}
