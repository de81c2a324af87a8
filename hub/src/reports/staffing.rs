//! Who was at the counters, and when — pure: sign-ins, sign-outs and pauses in, spells and
//! figures out.
//!
//! A *signed-in spell* runs from a staff member's sign-in at a counter to the first of: their
//! sign-out there (or anywhere, for a sign-out that names no counter), a new sign-in at that
//! counter, or the end of the local day (a session left open overnight is not a counter staffed
//! at night). Like the hub, it lets one person be signed in at two counters. A *paused spell*
//! runs from a `counter_paused` to the counter's next resume or pause, or the day's end. A counter
//! is *staffed* while someone is signed in at it and it is not paused. The weekday × hour grid
//! puts arrivals, the share called within target and the counters staffed side by side.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Timelike, Utc};
use dawr_protocol::api::reports::{PauseReasonFigures, SlaHour};

use super::VisitFacts;
use super::sla::{PauseEvent, Standing, standing};
use crate::cases::ledger::day_start;

/// A sign-in or sign-out, as the audit log has it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignEvent {
    pub staff: String,
    /// The counter signed in at (a sign-in without one, a manager's, opens no spell); for a
    /// sign-out, the counter if the log names it.
    pub counter: Option<String>,
    pub at: DateTime<Utc>,
    pub signed_in: bool,
}

/// A stretch of time at one counter.
#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    pub counter: String,
    /// The staff member signed in, or the pause's reason.
    pub who: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Spell {
    fn hours(&self) -> f64 {
        (self.to - self.from).num_milliseconds().max(0) as f64 / 3_600_000.0
    }
}

/// The end of the local day holding `at`.
fn day_end(at: DateTime<Utc>, offset: FixedOffset) -> DateTime<Utc> {
    day_start(at.with_timezone(&offset).date_naive() + Duration::days(1), offset)
}

/// The signed-in spells of `events` (in log order).
pub fn signed_in(events: &[SignEvent], offset: FixedOffset) -> Vec<Spell> {
    let mut open: BTreeMap<String, (String, DateTime<Utc>)> = BTreeMap::new();
    let mut spells = Vec::new();
    let mut close = |counter: String, (staff, from): (String, DateTime<Utc>), at: DateTime<Utc>| {
        let to = at.min(day_end(from, offset));
        spells.push(Spell { counter, who: staff, from, to });
    };
    for e in events {
        let ended: Vec<String> = open
            .iter()
            .filter(|(counter, (staff, _))| match e.signed_in {
                // Someone (else, or the same person again) signs in at the counter.
                true => e.counter.as_deref() == Some(counter.as_str()),
                // A sign-out ends its counter's spell, or all of the person's without one.
                false => *staff == e.staff && e.counter.as_ref().is_none_or(|c| c == *counter),
            })
            .map(|(counter, _)| counter.clone())
            .collect();
        for counter in ended {
            let spell = open.remove(&counter).expect("listed");
            close(counter, spell, e.at);
        }
        if let (true, Some(counter)) = (e.signed_in, &e.counter) {
            open.insert(counter.clone(), (e.staff.clone(), e.at));
        }
    }
    for (counter, (staff, from)) in open {
        close(counter, (staff, from), day_end(from, offset));
    }
    spells.sort_by(|a, b| (a.from, &a.counter).cmp(&(b.from, &b.counter)));
    spells
}

/// The paused spells of `events` (in log order), `who` being the reason.
pub fn paused(events: &[PauseEvent], offset: FixedOffset) -> Vec<Spell> {
    let mut open: BTreeMap<&str, (&str, DateTime<Utc>)> = BTreeMap::new();
    let mut spells = Vec::new();
    let spell = |counter: &str, (reason, from): (&str, DateTime<Utc>), at: DateTime<Utc>| Spell {
        counter: counter.into(),
        who: reason.into(),
        from,
        to: at.min(day_end(from, offset)),
    };
    for e in events {
        if let Some(pause) = open.remove(e.counter.as_str()) {
            spells.push(spell(&e.counter, pause, e.at));
        }
        if let Some(reason) = &e.paused {
            open.insert(&e.counter, (reason, e.at));
        }
    }
    for (counter, pause) in open {
        spells.push(spell(counter, pause, day_end(pause.1, offset)));
    }
    spells
}

/// `spells` cut to `[start, end)`; those outside dropped.
pub fn clipped(spells: Vec<Spell>, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> Vec<Spell> {
    spells
        .into_iter()
        .map(|s| Spell { from: s.from.max(start), to: s.to.min(end), ..s })
        .filter(|s| s.from < s.to)
        .collect()
}

/// The signed-in spells less the paused time of their counter: when counters were staffed.
pub fn staffed(signed: &[Spell], pauses: &[Spell]) -> Vec<Spell> {
    let mut out = Vec::new();
    for s in signed {
        let mut cuts: Vec<(DateTime<Utc>, DateTime<Utc>)> = pauses
            .iter()
            .filter(|p| p.counter == s.counter && p.from < s.to && p.to > s.from)
            .map(|p| (p.from, p.to))
            .collect();
        cuts.sort();
        let mut from = s.from;
        for (pause_from, pause_to) in cuts {
            if pause_from > from {
                out.push(Spell { from, to: pause_from, ..s.clone() });
            }
            from = from.max(pause_to);
        }
        if from < s.to {
            out.push(Spell { from, to: s.to, ..s.clone() });
        }
    }
    out
}

/// Counter-hours paused per reason, with each reason's share of them.
pub fn pause_figures(pauses: &[Spell]) -> Vec<PauseReasonFigures> {
    let mut by_reason: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for p in pauses {
        let entry = by_reason.entry(&p.who).or_default();
        entry.0 += 1;
        entry.1 += p.hours();
    }
    let all: f64 = by_reason.values().map(|(_, h)| h).sum();
    by_reason
        .into_iter()
        .map(|(reason, (pauses, hours))| PauseReasonFigures {
            reason: reason.into(),
            pauses,
            hours,
            share_pct: if all > 0.0 { hours * 100.0 / all } else { 0.0 },
        })
        .collect()
}

/// Per local day: (counters signed in at, staff signed in, counter-hours staffed).
pub fn per_day(signed: &[Spell], staffed: &[Spell], offset: FixedOffset) -> BTreeMap<NaiveDate, (usize, usize, f64)> {
    let mut counters: BTreeMap<NaiveDate, (BTreeSet<&str>, BTreeSet<&str>, f64)> = BTreeMap::new();
    for s in signed {
        let entry = counters.entry(s.from.with_timezone(&offset).date_naive()).or_default();
        entry.0.insert(&s.counter);
        entry.1.insert(&s.who);
    }
    for s in staffed {
        counters.entry(s.from.with_timezone(&offset).date_naive()).or_default().2 += s.hours();
    }
    counters.into_iter().map(|(day, (c, s, h))| (day, (c.len(), s.len(), h))).collect()
}

/// Staffed counter-seconds of each (weekday, local hour) from `staffed` spells.
fn staffed_seconds(staffed: &[Spell], offset: FixedOffset) -> BTreeMap<(u32, u32), f64> {
    let mut seconds = BTreeMap::new();
    for s in staffed {
        let mut at = s.from;
        while at < s.to {
            let local = at.with_timezone(&offset);
            let hour_end = at + Duration::seconds(3600 - i64::from(local.minute() * 60 + local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()));
            let until = hour_end.min(s.to);
            let key = (local.weekday().num_days_from_sunday(), local.hour());
            *seconds.entry(key).or_insert(0.0) += (until - at).num_milliseconds() as f64 / 1000.0;
            at = until;
        }
    }
    seconds
}

/// The weekday × hour grid of the range `from..=to`: every hour with arrivals or staff.
pub fn grid(
    (from, to): (NaiveDate, NaiveDate),
    visits: &[VisitFacts],
    staffed: &[Spell],
    target: &dyn Fn(&str) -> Option<u32>,
    offset: FixedOffset,
) -> Vec<SlaHour> {
    let mut days = [0usize; 7];
    let mut day = from;
    while day <= to {
        days[day.weekday().num_days_from_sunday() as usize] += 1;
        day += Duration::days(1);
    }
    // (arrivals, within, breaches) per cell.
    let mut cells: BTreeMap<(u32, u32), (usize, usize, usize)> = BTreeMap::new();
    for v in visits {
        let local = v.issued_at.with_timezone(&offset);
        let cell = cells.entry((local.weekday().num_days_from_sunday(), local.hour())).or_default();
        cell.0 += 1;
        match standing(v, target(&v.service)) {
            Standing::Within => cell.1 += 1,
            Standing::Breach { .. } => cell.2 += 1,
            Standing::Unmeasured => {}
        }
    }
    let seconds = staffed_seconds(staffed, offset);
    let keys: BTreeSet<(u32, u32)> = cells.keys().chain(seconds.keys()).copied().collect();
    keys.into_iter()
        .map(|(weekday, hour)| {
            let (arrivals, within, breaches) = cells.get(&(weekday, hour)).copied().unwrap_or_default();
            let n = days[weekday as usize];
            let measured = within + breaches;
            SlaHour {
                weekday,
                hour,
                days: n,
                arrivals,
                measured,
                within,
                within_pct: (measured > 0).then(|| within as f64 * 100.0 / measured as f64),
                counters_staffed: seconds.get(&(weekday, hour)).map_or(0.0, |s| s / 3600.0 / n.max(1) as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset() -> FixedOffset {
        FixedOffset::east_opt(3 * 3600).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn sign(staff: &str, counter: Option<&str>, time: &str, signed_in: bool) -> SignEvent {
        SignEvent { staff: staff.into(), counter: counter.map(Into::into), at: at(time), signed_in }
    }

    fn spell(counter: &str, who: &str, from: &str, to: &str) -> Spell {
        Spell { counter: counter.into(), who: who.into(), from: at(from), to: at(to) }
    }

    #[test]
    fn a_spell_ends_at_its_sign_out_a_takeover_or_the_day_end() {
        let events = [
            sign("s101", Some("1"), "2026-11-23T05:00:00Z", true),
            sign("s102", Some("2"), "2026-11-23T05:00:00Z", true),
            sign("m001", None, "2026-11-23T05:30:00Z", true),
            // s103 takes counter 1 over from s101.
            sign("s103", Some("1"), "2026-11-23T06:00:00Z", true),
            // s102 moves to counter 3: signs out of 2 first.
            sign("s102", Some("2"), "2026-11-23T07:00:00Z", false),
            sign("s102", Some("3"), "2026-11-23T07:00:00Z", true),
            // s105 signs in at counter 5 and, in a second session, at counter 6.
            sign("s105", Some("5"), "2026-11-23T07:30:00Z", true),
            sign("s105", Some("6"), "2026-11-23T07:40:00Z", true),
            sign("s105", Some("6"), "2026-11-23T08:40:00Z", false),
            // s103 signs out (the log does not name the counter).
            sign("s103", None, "2026-11-23T08:00:00Z", false),
            // s104 never signs out: to local midnight (21:00 UTC).
            sign("s104", Some("4"), "2026-11-23T10:00:00Z", true),
        ];
        assert_eq!(
            signed_in(&events, offset()),
            [
                spell("1", "s101", "2026-11-23T05:00:00Z", "2026-11-23T06:00:00Z"),
                spell("2", "s102", "2026-11-23T05:00:00Z", "2026-11-23T07:00:00Z"),
                spell("1", "s103", "2026-11-23T06:00:00Z", "2026-11-23T08:00:00Z"),
                spell("3", "s102", "2026-11-23T07:00:00Z", "2026-11-23T21:00:00Z"),
                spell("5", "s105", "2026-11-23T07:30:00Z", "2026-11-23T21:00:00Z"),
                spell("6", "s105", "2026-11-23T07:40:00Z", "2026-11-23T08:40:00Z"),
                spell("4", "s104", "2026-11-23T10:00:00Z", "2026-11-23T21:00:00Z"),
            ]
        );
    }

    #[test]
    fn pauses_are_cut_out_of_the_signed_in_time_and_clipped_to_the_range() {
        let pause = |counter: &str, time: &str, reason: Option<&str>| PauseEvent {
            counter: counter.into(),
            at: at(time),
            paused: reason.map(Into::into),
        };
        let pauses = paused(
            &[
                pause("1", "2026-11-23T09:00:00Z", Some("prayer")),
                pause("1", "2026-11-23T09:20:00Z", None),
                pause("2", "2026-11-23T09:00:00Z", Some("break")),
                pause("2", "2026-11-23T09:15:00Z", Some("prayer")),
                pause("2", "2026-11-23T09:45:00Z", None),
            ],
            offset(),
        );
        assert_eq!(pauses.len(), 3);
        let signed = [
            spell("1", "s101", "2026-11-23T05:00:00Z", "2026-11-23T11:00:00Z"),
            spell("2", "s102", "2026-11-23T09:30:00Z", "2026-11-23T10:00:00Z"),
        ];
        assert_eq!(
            staffed(&signed, &pauses),
            [
                spell("1", "s101", "2026-11-23T05:00:00Z", "2026-11-23T09:00:00Z"),
                spell("1", "s101", "2026-11-23T09:20:00Z", "2026-11-23T11:00:00Z"),
                spell("2", "s102", "2026-11-23T09:45:00Z", "2026-11-23T10:00:00Z"),
            ]
        );
        let figures = pause_figures(&clipped(pauses, (at("2026-11-23T09:10:00Z"), at("2026-11-24T00:00:00Z"))));
        let got: Vec<(&str, usize, f64, f64)> =
            figures.iter().map(|p| (p.reason.as_str(), p.pauses, p.hours, p.share_pct.round())).collect();
        // Clipped at 09:10: break 5 min; prayer 10 + 30 min.
        assert_eq!(got, [("break", 1, 5.0 / 60.0, 11.0), ("prayer", 2, 40.0 / 60.0, 89.0)]);
    }

    #[test]
    fn the_grid_spreads_staffed_time_over_the_hours_and_means_it_over_the_weekdays() {
        // 2026-11-22 and 2026-11-29 are Sundays; the range has two.
        let staffed = [
            spell("1", "s101", "2026-11-22T05:30:00Z", "2026-11-22T07:00:00Z"),
            spell("2", "s102", "2026-11-29T05:00:00Z", "2026-11-29T06:00:00Z"),
        ];
        let cells =
            grid(("2026-11-22".parse().unwrap(), "2026-12-05".parse().unwrap()), &[], &staffed, &|_| None, offset());
        let got: Vec<(u32, u32, usize, f64)> =
            cells.iter().map(|c| (c.weekday, c.hour, c.days, c.counters_staffed)).collect();
        // 08:00 local: s101 from 08:30 (0.5 h) and s102 (1 h), over two Sundays; 09:00: s101's hour.
        assert_eq!(got, [(0, 8, 2, 0.75), (0, 9, 2, 0.5)]);
    }
}
