//! Configuration comes down: the centre keeps each branch's [`CentreConfig`] in the KV bucket
//! `dawr_config` under the branch's id; the uplink reads its own key (a direct get, whose subject
//! names the key, so NATS rights can keep a branch to its own) and hands a new revision here.
//!
//! - **Checked.** The JSON must read as a [`CentreConfig`] for this branch, merge onto the
//!   branch file into a valid branch ([`check`], pure), and leave every live visit a service and
//!   counter (the engine's own check). A refusal keeps the last good configuration and is
//!   recorded with its reason, which the live health reports to the centre.
//! - **At a safe point.** The engine applies it between two commands (`Request::Reconfigure`),
//!   never in the middle of one; then the HTTP handlers and the sign-in see the new branch.
//! - **Kept.** The last good configuration is stored (`centre_config`, migration 014): after a
//!   restart the hub runs it again, with or without the centre ([`stored`]).
use std::sync::Arc;

use dawr_protocol::api::ministry::ConfigRefusal;
use rusqlite::Connection;

pub use super::config_store::{record_applied, record_refused, state, stored_body};

use crate::auth::Sessions;
use crate::branch_cell::BranchCell;
use crate::config::{CentreConfig, Config};
use crate::domain::Branch;
use crate::engine::{EngineHandle, Request};

/// The KV bucket of branches' configurations.
pub const CONFIG_BUCKET: &str = "dawr_config";

/// The subject of a branch's configuration key (`$KV.dawr_config.{branch}`).
pub fn config_subject(branch: &str) -> String {
    format!("$KV.{CONFIG_BUCKET}.{branch}")
}

/// The stream behind the bucket.
pub fn config_stream() -> String {
    format!("KV_{CONFIG_BUCKET}")
}

/// What the hub needs to apply a configuration while it runs.
#[derive(Clone)]
pub struct Reconfigure {
    /// The branch file (its own part stays; the centre's part is replaced).
    pub base: Arc<Config>,
    pub engine: EngineHandle,
    /// The branch the HTTP handlers and the uplink read.
    pub cell: BranchCell,
    pub sessions: Arc<Sessions>,
}

/// The configuration state as stored: the applied revision, and the last refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigState {
    pub applied: Option<u64>,
    pub refused: Option<ConfigRefusal>,
}

impl ConfigState {
    /// Whether `revision` was applied or refused already.
    pub fn knows(&self, revision: u64) -> bool {
        self.applied == Some(revision) || self.refused.as_ref().is_some_and(|r| r.revision == revision)
    }
}

/// Reads `body` as this branch's configuration from the centre, merged onto `base`: `Err` is
/// the reason to refuse it.
pub fn check(base: &Config, body: &[u8]) -> Result<(Config, Branch), String> {
    let centre: CentreConfig = serde_json::from_slice(body).map_err(|e| format!("not a branch configuration: {e}"))?;
    let config = base.with_centre(&centre).map_err(|e| e.to_string())?;
    let branch = config.branch().map_err(|e| e.to_string())?;
    Ok((config, branch))
}

/// At start-up: the last good configuration from the centre merged onto the branch file, with
/// its revision, if there is one and it still checks (the file may have changed since).
pub fn stored(conn: &Connection, base: &Config) -> Option<(u64, Config)> {
    let (revision, body) = match stored_body(conn) {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the stored configuration from the centre");
            return None;
        }
    };
    match check(base, body.as_bytes()) {
        Ok((config, _)) => Some((revision, config)),
        Err(reason) => {
            tracing::warn!(revision, %reason, "the stored configuration from the centre no longer applies; running the branch file");
            None
        }
    }
}

/// Checks and applies revision `revision` of the configuration; records the outcome. `Err`
/// is the reason it was refused (the last good one stays).
pub async fn apply(r: &Reconfigure, db: &dawr_web::Db, revision: u64, body: &[u8]) -> Result<(), String> {
    let outcome = async {
        let (_, branch) = check(&r.base, body)?;
        let branch = Arc::new(branch);
        r.engine
            .ask(|reply| Request::Reconfigure { branch: branch.clone(), reply })
            .await
            .map_err(|e| e.to_string())??;
        Ok::<_, String>(branch)
    }
    .await;
    let text = String::from_utf8_lossy(body).into_owned();
    match outcome {
        Ok(branch) => {
            r.sessions.set_people(branch.staff.clone());
            r.cell.set(branch);
            let stored = db.write(move |conn| record_applied(conn, revision, &text)).await;
            if !matches!(stored, Ok(Ok(()))) {
                tracing::warn!(revision, "the applied configuration could not be stored");
            }
            tracing::info!(revision, "applied the configuration from the centre");
            Ok(())
        }
        Err(reason) => {
            tracing::warn!(revision, %reason, "refused the configuration from the centre; the last good one stays");
            let why = reason.clone();
            let _ = db.write(move |conn| record_refused(conn, revision, &why)).await;
            Err(reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_centre() -> CentreConfig {
        CentreConfig::of(&Config::demo())
    }

    #[test]
    fn a_new_service_merges_onto_the_branch_file_and_the_branch_keeps_its_own_part() {
        let base = Config::demo();
        let mut centre = demo_centre();
        let mut service = centre.services[0].clone();
        service.code = "Q".into();
        centre.services.push(service);
        centre.counters[0].services.push("Q".into());
        let (config, branch) = check(&base, &serde_json::to_vec(&centre).unwrap()).unwrap();
        assert!(branch.service_index("Q").is_some());
        assert_eq!((branch.id.as_str(), branch.case_prefix.as_str()), ("demo", base.branch.case_prefix.as_str()));
        assert_eq!(config.hub.http, base.hub.http);
    }

    #[test]
    fn the_closing_time_and_a_services_remote_joining_come_down_and_a_bad_closing_time_is_refused() {
        let base = Config::demo();
        let mut centre = demo_centre();
        centre.closes = Some("15:30".into());
        centre.services[0].remote =
            Some(crate::config::ServiceRemoteSection { open: true, until_close_min: 45.0, max_share_percent: 20 });
        let (config, branch) = check(&base, &serde_json::to_vec(&centre).unwrap()).unwrap();
        assert_eq!(config.branch.closes.as_deref(), Some("15:30"));
        let remote = branch.services[0].remote.as_ref().expect("open to phones");
        assert_eq!((remote.until_close_s, remote.max_share_percent), (45 * 60, 20));
        // Absent, the branch file's closing time stays.
        let mut file = Config::demo();
        file.branch.closes = Some("16:00".into());
        let (kept, _) = check(&file, &serde_json::to_vec(&demo_centre()).unwrap()).unwrap();
        assert_eq!(kept.branch.closes.as_deref(), Some("16:00"));
        centre.closes = Some("late".into());
        assert!(check(&base, &serde_json::to_vec(&centre).unwrap()).unwrap_err().contains("closes"));
    }

    #[test]
    fn a_bad_configuration_is_refused_with_its_reason() {
        let base = Config::demo();
        assert!(check(&base, b"{}").unwrap_err().starts_with("not a branch configuration"));
        let mut centre = demo_centre();
        centre.counters[0].services.push("Z".into());
        let reason = check(&base, &serde_json::to_vec(&centre).unwrap()).unwrap_err();
        assert!(reason.contains("unknown service \"Z\""), "{reason}");
        let mut other = demo_centre();
        other.branch = "b9".into();
        assert!(check(&base, &serde_json::to_vec(&other).unwrap()).unwrap_err().contains("for branch \"b9\""));
    }

    #[test]
    fn the_last_good_configuration_survives_a_refusal_and_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dawr.db");
        let base = Config::demo();
        {
            let conn = crate::store::open(&path).unwrap();
            assert_eq!(state(&conn).unwrap(), ConfigState::default());
            assert!(stored(&conn, &base).is_none());
            let mut centre = demo_centre();
            centre.services[0].target_wait_min = 3.0;
            record_applied(&conn, 4, &serde_json::to_string(&centre).unwrap()).unwrap();
            record_refused(&conn, 5, "no").unwrap();
        }
        let conn = crate::store::open(&path).unwrap();
        let now = state(&conn).unwrap();
        assert_eq!(now.applied, Some(4));
        assert!(now.knows(4) && now.knows(5) && !now.knows(6));
        let (revision, config) = stored(&conn, &base).unwrap();
        assert_eq!((revision, config.services[0].target_wait_min), (4, 3.0));
    }
}
