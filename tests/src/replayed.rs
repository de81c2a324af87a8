//! A replayed branch, for the ministry bench: no hub process, but a database of the hub's
//! schema written through the hub's own domain and store (the real [`Queue`] decides every
//! event, [`store::write_changes`] writes them as the hub's writer thread does), sent to the
//! centre by the hub's own uplink ([`uplink::run`]) with the branch's own NATS login, through a
//! [`Relay`] the bench can cut. So the centre receives exactly what a hub would send, and the
//! branch's report comes from the same database through the hub's report functions.
//!
//! Each replayed branch costs three SQLite connections (the generator's, the uplink's writer
//! and reader), one NATS connection and a relay (a listener and two sockets per link).
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use dawr_hub::branch_cell::BranchCell;
use dawr_hub::domain::{Branch, CounterAction, IssueRequest, Queue};
use dawr_hub::reports::{ReportFilter, summarise, visit_facts};
use dawr_hub::store::{self, Change};
use dawr_hub::uplink::{self, BranchSide, UplinkLink};
use dawr_protocol::api::{Outcome, Priority};
use rusqlite::Connection;

use crate::ministry::{Relay, branch_file_as};

/// The counters that serve visitors, each with its services (the demo branch's).
const LINES: [(&str, [&str; 2]); 3] = [("2", ["A", "D"]), ("5", ["B", "E"]), ("7", ["C", "F"])];

/// One replayed branch: its database, its queue, and its uplink running.
pub struct ReplayedBranch {
    pub id: String,
    pub path: PathBuf,
    branch: Arc<Branch>,
    conn: Connection,
    queue: Queue,
    /// The next event's sequence number (the hub's `next_event_seq`).
    next_seq: i64,
    /// The branch-local day of the last visit (a new day restores the queue from the database,
    /// as a hub restarted overnight does).
    day: Option<NaiveDate>,
    visits: u64,
    pub relay: Relay,
    uplink: tokio::task::JoinHandle<()>,
}

impl ReplayedBranch {
    /// Makes branch `id`'s database in `dir` (the demo branch, as a real hub's file has it) and
    /// starts its uplink through a relay to `nats`, logging in as `id` (password `{id}-secret`,
    /// as [`crate::ministry::branch_rights`] has it), its live state put every `live_every`,
    /// reconnecting with back-off up to `max_backoff`.
    pub fn start(
        dir: &Path,
        id: &str,
        nats: std::net::SocketAddr,
        live_every: Duration,
        max_backoff: Duration,
    ) -> Result<Self> {
        let relay = Relay::start(nats);
        let password = format!("{id}-secret");
        let file = branch_file_as(dir, id, &relay.nats_url(), Some((id, &password)))?;
        let branch = Arc::new(dawr_hub::config::Config::load(Path::new(&file))?.branch()?);
        let path = dir.join(format!("{id}.db"));
        let conn = store::open(&path)?;
        let now = Utc::now().trunc_subsecs(3);
        let queue = Queue::new(branch.clone(), now);
        let next_seq = store::next_event_seq(&conn)?;
        let mut link = UplinkLink::new(relay.nats_url());
        link.user = Some(id.into());
        link.password = Some(password);
        link.live_every = live_every;
        link.max_backoff = max_backoff;
        let side =
            BranchSide { cell: BranchCell::new(branch.clone()), reconfigure: None, presence: Default::default() };
        let db = dawr_web::Db::new(store::open(&path)?, vec![store::open(&path)?]);
        let uplink = tokio::spawn(uplink::run(link, side, db));
        Ok(ReplayedBranch { id: id.into(), path, branch, conn, queue, next_seq, day: None, visits: 0, relay, uplink })
    }

    /// Events in the branch's log so far (its last sequence number).
    pub fn produced(&self) -> i64 {
        self.next_seq - 1
    }

    /// Writes `times.len()` visits, one at each time (ascending), in one transaction: each issued,
    /// called, started and completed at its line's counter (four events), as the hub's engine
    /// would store them. A new local day first closes the days before (the engine's rollover).
    pub fn visits_at(&mut self, times: &[DateTime<Utc>]) -> Result<()> {
        let mut changes = Vec::with_capacity(times.len() * 4 + 1);
        for at in times {
            let now = at.trunc_subsecs(3);
            let today = self.queue.local_day(now);
            if self.day != Some(today) {
                if self.day.is_some() {
                    // Yesterday's queue, as a hub restarted overnight reads it back.
                    if !changes.is_empty() {
                        store::write_changes(&mut self.conn, std::mem::take(&mut changes))?;
                    }
                    let snapshot = store::load_snapshot(&self.conn)?;
                    self.queue = Queue::restore(self.branch.clone(), snapshot, now).0;
                    let done = self.queue.close_days_before(today, now);
                    changes.push(self.change(done, now));
                }
                self.day = Some(today);
            }
            let (counter, services) = LINES[(self.visits % LINES.len() as u64) as usize];
            let service = services[(self.visits / LINES.len() as u64 % 2) as usize];
            self.visits += 1;
            let request = IssueRequest {
                service: service.into(),
                priority: Priority::Normal,
                appointment_at: None,
                token: format!("{}-{}", self.id, self.visits),
            };
            let (done, _) = self.queue.issue(request, now).context("a ticket")?;
            changes.push(self.change(done, now));
            for action in [
                CounterAction::Next { outcome: None },
                CounterAction::Start,
                CounterAction::Complete { outcome: Some(Outcome::Resolved) },
            ] {
                let done = self.queue.counter_action(counter, action, now).context("a counter action")?;
                changes.push(self.change(done, now));
            }
        }
        store::write_changes(&mut self.conn, changes)?;
        Ok(())
    }

    /// A queue result as the store takes it, its events numbered (the engine's `change`).
    fn change(&mut self, done: dawr_hub::domain::queue::Done, now: DateTime<Utc>) -> Change {
        let counters = done
            .counters
            .iter()
            .map(|&c| (self.branch.counters[c].id.clone(), self.queue.counter(c).clone()))
            .collect();
        let events = done
            .events
            .into_iter()
            .map(|e| {
                let seq = self.next_seq;
                self.next_seq += 1;
                (seq, e)
            })
            .collect();
        Change { events, visits: done.visits, counters, command: None, at: Some(now), closure: None }
    }

    /// The local days of the visits in the branch's database.
    pub fn days(&self) -> Result<Vec<NaiveDate>> {
        let mut select = self.conn.prepare("SELECT DISTINCT local_day FROM visits ORDER BY local_day")?;
        let days = select.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(days.iter().filter_map(|d| d.parse().ok()).collect())
    }

    /// The branch's summary of `day`, as its `/api/v1/reports/summary` computes it: the hub's
    /// report functions over its own database.
    pub fn report(&self, day: NaiveDate) -> Result<serde_json::Value> {
        let filter = ReportFilter { from: day, to: day, service: None, counter: None };
        let facts = visit_facts(&self.conn, &filter)?;
        let target = |code: &str| self.branch.services.iter().find(|s| s.code == code).map(|s| s.target_wait_s);
        Ok(serde_json::to_value(summarise(&filter, &facts, &target, self.branch.utc_offset))?)
    }

    /// The bytes of the branch's database files.
    pub fn disk(&self) -> u64 {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", self.path.display())).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl Drop for ReplayedBranch {
    fn drop(&mut self) {
        self.uplink.abort();
    }
}
