//! What the board shows, as plain data: the current call (highlighted for a while when new),
//! the recent calls, the waiting counts per service, and whether the board is offline.
//!
//! Fed by the hub's retained `…/board` message (on start and on every reconnect, so a board is
//! current at once) and by each `…/calls` message; the screen only draws [`BoardState::view`].
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use dawr_protocol::api::{Board, Call, Names, ServiceSummary};

/// Which services and counters this board shows (empty = all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    pub services: HashSet<String>,
    pub counters: HashSet<String>,
}

impl BoardFilter {
    fn shows_call(&self, call: &Call) -> bool {
        (self.services.is_empty() || self.services.contains(&call.service))
            && (self.counters.is_empty() || self.counters.contains(&call.counter))
    }

    fn shows_service(&self, service: &ServiceSummary) -> bool {
        self.services.is_empty() || self.services.contains(&service.code)
    }
}

/// The board's state.
#[derive(Debug, Clone)]
pub struct BoardState {
    filter: BoardFilter,
    highlight: Duration,
    history_len: usize,
    /// Newest first.
    calls: Vec<Call>,
    services: Vec<ServiceSummary>,
    branch_name: Names,
    online: bool,
    /// The highest call id announced (or, from the first board, taken as seen); `None` before
    /// the first board or call. Kept across reconnects: it is how calls missed meanwhile are told
    /// from old ones (`docs/PROTOCOL.md`, Call).
    highest: Option<u64>,
    /// When each shown call reached this board (highlighting runs from then, not from the hub's
    /// clock, so a call that arrives late still blinks).
    first_seen: Vec<(u64, DateTime<Utc>)>,
}

/// One frame's content.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardView {
    pub current: Option<Call>,
    /// Until when the current call is highlighted (it arrived less than the highlight time
    /// before); `None` when it is not.
    pub highlight_until: Option<DateTime<Utc>>,
    pub history: Vec<Call>,
    pub services: Vec<ServiceSummary>,
    /// The branch's name, from its board message (empty until the first arrives).
    pub branch_name: Names,
    pub online: bool,
}

impl BoardView {
    /// Whether the current call is highlighted at `now`.
    pub fn highlighted(&self, now: DateTime<Utc>) -> bool {
        self.highlight_until.is_some_and(|until| now < until)
    }
}

impl BoardState {
    pub fn new(filter: BoardFilter, highlight: Duration, history_len: usize) -> Self {
        BoardState {
            filter,
            highlight,
            history_len,
            calls: Vec::new(),
            services: Vec::new(),
            branch_name: Names { ar: String::new(), en: String::new() },
            online: false,
            highest: None,
            first_seen: Vec::new(),
        }
    }

    /// The summary (retained, and re-sent after changes): replaces calls and services, and returns
    /// the calls with an id above the highest announced, oldest first. The broker does not order
    /// `…/board` and `…/calls` against each other, so a summary can bring a call first, and after
    /// a reconnect it brings the calls made meanwhile; but the very first summary only brings
    /// history (its highest id is taken as seen), which is neither highlighted nor returned.
    pub fn apply_board(&mut self, board: Board, now: DateTime<Utc>) -> Vec<Call> {
        let newest = board.calls.iter().map(|c| c.id).max();
        let calls: Vec<Call> = board.calls.into_iter().filter(|c| self.filter.shows_call(c)).collect();
        self.services = board.services.into_iter().filter(|s| self.filter.shows_service(s)).collect();
        self.branch_name = board.name;
        let mut new: Vec<Call> = match self.highest {
            Some(highest) => calls.iter().filter(|c| c.id > highest).cloned().collect(),
            None => Vec::new(),
        };
        new.sort_by_key(|c| c.id);
        let seen_at = if self.highest.is_some() { now } else { now - self.highlight };
        for call in &calls {
            if !self.first_seen.iter().any(|(id, _)| *id == call.id) {
                self.first_seen.push((call.id, seen_at));
            }
        }
        self.highest = self.highest.max(newest).or(Some(0));
        self.calls = calls;
        self.trim();
        new
    }

    /// A new call. Returns true if it is news for this board (not filtered out, its id above
    /// every call announced).
    pub fn apply_call(&mut self, call: Call, now: DateTime<Utc>) -> bool {
        if self.highest.is_some_and(|highest| call.id <= highest) {
            return false;
        }
        self.highest = Some(call.id);
        if !self.filter.shows_call(&call) {
            return false;
        }
        self.first_seen.push((call.id, now));
        self.calls.insert(0, call);
        self.trim();
        true
    }

    /// The link came up or went down (the calls announced are remembered across: a board after a
    /// reconnect announces the calls it missed).
    pub fn set_online(&mut self, online: bool) {
        self.online = online;
    }

    /// Newest first; a ticket called again (a recall) shows once, at its latest call.
    fn trim(&mut self) {
        self.calls.sort_by_key(|c| std::cmp::Reverse(c.id));
        let mut tickets = HashSet::new();
        self.calls.retain(|c| tickets.insert(c.ticket.clone()));
        self.calls.truncate(self.history_len + 1);
        let ids: HashSet<u64> = self.calls.iter().map(|c| c.id).collect();
        self.first_seen.retain(|(id, _)| ids.contains(id));
    }

    pub fn view(&self, now: DateTime<Utc>) -> BoardView {
        let current = self.calls.first().cloned();
        let highlight_until = current
            .as_ref()
            .and_then(|c| self.first_seen.iter().find(|(id, _)| *id == c.id))
            .map(|(_, seen)| *seen + self.highlight)
            .filter(|until| now < *until);
        BoardView {
            current,
            highlight_until,
            history: self.calls.iter().skip(1).cloned().collect(),
            services: self.services.clone(),
            branch_name: self.branch_name.clone(),
            online: self.online,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Names {
        Names { ar: s.into(), en: s.into() }
    }

    fn call(id: u64, ticket: &str, counter: &str, service: &str) -> Call {
        Call {
            id,
            ticket: ticket.into(),
            counter: counter.into(),
            service: service.into(),
            recall: false,
            at: "2026-11-23T09:00:00Z".parse().unwrap(),
            service_name: names(service),
            counter_name: names(counter),
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(s)
    }

    #[test]
    fn a_new_call_is_highlighted_for_a_while_and_history_keeps_the_rest() {
        let mut b = BoardState::new(BoardFilter::default(), Duration::seconds(8), 3);
        assert_eq!(b.view(t(0)).current, None);
        assert!(b.apply_call(call(1, "A001", "1", "A"), t(0)));
        assert!(b.view(t(1)).highlighted(t(1)));
        assert!(!b.view(t(1)).highlighted(t(9)), "a view made while new stops highlighting in time");
        assert!(!b.view(t(9)).highlighted(t(9)), "not forever");
        for (i, ticket) in ["A002", "B001", "A003", "C001"].iter().enumerate() {
            b.apply_call(call(2 + i as u64, ticket, "2", "A"), t(10 + i as i64));
        }
        let v = b.view(t(14));
        assert_eq!(v.current.unwrap().ticket, "C001");
        assert_eq!(v.history.iter().map(|c| c.ticket.as_str()).collect::<Vec<_>>(), ["A003", "B001", "A002"]);
        assert!(!b.apply_call(call(5, "C001", "2", "A"), t(15)), "a repeated call is not news");
        // A recall is news, and the ticket moves to the top instead of showing twice.
        let mut recall = call(6, "A003", "2", "A");
        recall.recall = true;
        assert!(b.apply_call(recall, t(16)));
        let v = b.view(t(16));
        assert!(v.current.as_ref().unwrap().recall);
        assert_eq!(v.current.unwrap().ticket, "A003");
        assert_eq!(v.history.iter().map(|c| c.ticket.as_str()).collect::<Vec<_>>(), ["C001", "B001", "A002"]);
    }

    #[test]
    fn a_board_that_starts_shows_the_retained_state_without_blinking() {
        let mut b = BoardState::new(BoardFilter::default(), Duration::seconds(8), 5);
        let board = Board {
            branch: "demo".into(),
            name: names("demo"),
            updated_at: t(0),
            calls: (1..=5).rev().map(|i| call(i, &format!("A00{i}"), "1", "A")).collect(),
            services: vec![],
            utc_offset: None,
        };
        assert!(b.apply_board(board.clone(), t(100)).is_empty(), "the first summary is history");
        let v = b.view(t(100));
        assert_eq!(v.current.as_ref().unwrap().ticket, "A005");
        assert_eq!(v.history.len(), 4, "all five calls from the retained state");
        assert!(!v.highlighted(t(100)), "old calls do not blink on start");
        // A later summary that brings a call before `…/calls` does: it is news.
        let mut later = board;
        later.calls.insert(0, call(6, "A006", "2", "A"));
        let new = b.apply_board(later, t(101));
        assert_eq!(new.iter().map(|c| c.id).collect::<Vec<_>>(), [6]);
        assert!(b.view(t(102)).highlighted(t(102)));
        assert!(!b.apply_call(call(6, "A006", "2", "A"), t(102)), "and not news twice");
    }

    #[test]
    fn after_a_reconnect_the_calls_missed_meanwhile_are_announced_oldest_first() {
        let mut b = BoardState::new(BoardFilter::default(), Duration::seconds(8), 5);
        let board = |ids: &[u64]| Board {
            branch: "demo".into(),
            name: names("demo"),
            updated_at: t(0),
            calls: ids.iter().map(|&i| call(i, &format!("A00{i}"), "1", "A")).collect(),
            services: vec![],
            utc_offset: None,
        };
        b.set_online(true);
        assert!(b.apply_board(board(&[2, 1]), t(0)).is_empty());
        assert!(b.apply_call(call(3, "A003", "1", "A"), t(1)));
        // Away: calls 4 and 5 are made; back, the retained board is all that tells of them.
        b.set_online(false);
        b.set_online(true);
        let news = b.apply_board(board(&[5, 4, 3, 2, 1]), t(30));
        assert_eq!(news.iter().map(|c| c.id).collect::<Vec<_>>(), [4, 5], "missed calls, oldest first");
        assert!(b.view(t(30)).highlighted(t(30)));
        assert!(!b.apply_call(call(5, "A005", "1", "A"), t(31)), "a late copy on …/calls is not news");
        assert!(!b.apply_call(call(2, "A002", "1", "A"), t(31)), "nor an old id");
    }

    #[test]
    fn a_board_for_some_counters_ignores_the_others() {
        let filter = BoardFilter { counters: ["7".to_string(), "8".to_string()].into(), ..BoardFilter::default() };
        let mut b = BoardState::new(filter, Duration::seconds(8), 3);
        assert!(!b.apply_call(call(1, "A001", "1", "A"), t(0)));
        assert!(b.apply_call(call(2, "F001", "7", "F"), t(1)));
        assert_eq!(b.view(t(1)).current.unwrap().ticket, "F001");
    }
}
