//! A busy morning at counter 2, in each state the desk can show: the screenshots
//! (`dawr-counter screenshot --state …`) and the layout test draw these.
use chrono::{DateTime, Utc};
use dawr_i18n::Lang;
use dawr_protocol::api::{Names, Priority, Ticket};
use dawr_protocol::device::{Action, CounterState, CounterStatus, CurrentStatus, CurrentVisit};

use crate::flow::{CaseInfo, Desk, Input, SignedIn};
use crate::screen::Branch;

/// A state of the desk worth a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeskState {
    /// The sign-in form.
    SignedOut,
    /// Signed in, nobody at the counter, five waiting.
    Idle,
    /// A visitor called, their case open.
    Called,
    /// A visitor served for 12 minutes, their case filled in, with earlier visits.
    Serving,
    /// Completing: how did the visit end?
    Complete,
    /// Transferring: to which service or counter (every one of the demo branch's)?
    Transfer,
    /// The counter on a break.
    Paused,
}

impl DeskState {
    pub const ALL: [DeskState; 7] = [
        DeskState::SignedOut,
        DeskState::Idle,
        DeskState::Called,
        DeskState::Serving,
        DeskState::Complete,
        DeskState::Transfer,
        DeskState::Paused,
    ];

    /// Its name on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            DeskState::SignedOut => "signed-out",
            DeskState::Idle => "idle",
            DeskState::Called => "called",
            DeskState::Serving => "serving",
            DeskState::Complete => "complete",
            DeskState::Transfer => "transfer",
            DeskState::Paused => "paused",
        }
    }
}

fn names(ar: &str, en: &str) -> Names {
    Names { ar: ar.into(), en: en.into() }
}

fn text<const N: usize>(s: &str) -> heapless::String<N> {
    heapless::String::try_from(s).expect("short")
}

/// The demo branch's services and counters (the transfer question lists them all).
pub fn branch() -> Branch {
    let services = [
        ("A", "الوكالات", "Power of attorney"),
        ("B", "الإفراغ العقاري", "Real-estate title transfer"),
        ("C", "التنفيذ", "Enforcement requests"),
        ("D", "استفسارات القضايا", "Case inquiries"),
        ("E", "عقود النكاح", "Marriage contracts"),
        ("F", "الشكاوى والمقترحات", "Complaints and suggestions"),
    ];
    let digits = ["١", "٣", "٤", "٥", "٦", "٧", "٨"];
    let counters = ["1", "3", "4", "5", "6", "7", "8"]
        .iter()
        .zip(digits)
        .map(|(id, ar)| (id.to_string(), names(&format!("شباك {ar}"), &format!("Counter {id}"))))
        .collect();
    Branch {
        counter_name: names("شباك ٢", "Counter 2"),
        services: services.iter().map(|(code, ar, en)| (code.to_string(), names(ar, en))).collect(),
        counters,
        utc_offset: chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset"),
        amber_s: 600,
        red_s: 900,
    }
}

/// Counter 2 open, `current` at it, five waiting.
pub fn counter_state(counter: &str, current: Option<CurrentVisit>, now: DateTime<Utc>) -> CounterState {
    CounterState {
        counter: text(counter),
        status: CounterStatus::Open,
        current,
        waiting: 5,
        updated_at: text(&now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }
}

/// A017 at the counter since 12 minutes ago, in `status`, with its case.
fn visit(status: CurrentStatus, now: DateTime<Utc>) -> CurrentVisit {
    let since = now - chrono::Duration::seconds(12 * 60 + 5);
    CurrentVisit {
        ticket: text("A017"),
        service: text("A"),
        status,
        since: text(&since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        recalls: 0,
        case_ref: Some(text("DMM-20261123-000017")),
    }
}

/// Five tickets waiting for counter 2: normal, assisted and an appointment.
pub fn waiting(branch: &Branch, now: DateTime<Utc>) -> Vec<Ticket> {
    let mut ticket = dawr_protocol::api::examples::ticket();
    [
        ("A018", "A", 19, Priority::Normal),
        ("D004", "D", 14, Priority::Assisted),
        ("A019", "A", 11, Priority::Normal),
        ("D005", "D", 6, Priority::Appointment),
        ("A020", "A", 2, Priority::Normal),
    ]
    .into_iter()
    .map(|(number, service, waited, priority)| {
        ticket.number = number.into();
        ticket.service = service.into();
        ticket.service_name = branch.services.iter().find(|(c, _)| c == service).expect("a demo service").1.clone();
        ticket.priority = priority;
        ticket.issued_at = now - chrono::Duration::minutes(waited);
        ticket.appointment_at = (priority == Priority::Appointment).then(|| now + chrono::Duration::minutes(4));
        ticket.clone()
    })
    .collect()
}

/// The signed-in staff member of the samples.
pub fn staff(counter: &str) -> SignedIn {
    SignedIn {
        token: String::new(),
        staff: "s101".into(),
        name_ar: "عبدالله القحطاني".into(),
        name_en: "Abdullah Alqahtani".into(),
        counter: counter.into(),
        services: vec![],
    }
}

/// A case well filled in: the visitor's ID, a category, two lines of notes, three earlier visits.
pub fn case() -> CaseInfo {
    let earlier = [
        ("A003", "A", "2026-10-02", "follow_up"),
        ("D011", "D", "2026-09-14", "resolved"),
        ("A042", "A", "2026-06-30", "referred"),
    ];
    CaseInfo {
        category: "وكالة عامة".into(),
        notes: "أحضر صك الملكية.\nينقصه خطاب الجهة.".into(),
        visitor: "1012345678".into(),
        due_at: Some("2026-11-30T12:00:00+03:00".into()),
        earlier: earlier
            .iter()
            .map(|(t, s, d, o)| (t.to_string(), s.to_string(), d.to_string(), o.to_string()))
            .collect(),
    }
}

/// The desk at counter 2 in `state`, in `lang`, at `now`.
pub fn desk(state: DeskState, lang: Lang, counter: &str, branch: &Branch, now: DateTime<Utc>) -> Desk {
    let mut desk = Desk::new(counter, "sample", 0);
    desk.handle(Input::ChooseLanguage(lang), now);
    desk.handle(Input::Link(true), now);
    let current = match state {
        DeskState::SignedOut | DeskState::Idle | DeskState::Paused => None,
        DeskState::Called => Some(visit(CurrentStatus::Called, now)),
        DeskState::Serving | DeskState::Complete | DeskState::Transfer => Some(visit(CurrentStatus::Serving, now)),
    };
    let mut counter_state = counter_state(counter, current, now);
    if state == DeskState::Paused {
        counter_state.status = CounterStatus::Paused;
    }
    if state != DeskState::SignedOut {
        desk.handle(Input::SignedIn(Ok(staff(counter))), now);
        desk.served = 7;
    }
    desk.handle(Input::State(counter_state), now);
    desk.handle(Input::Waiting(Some(waiting(branch, now))), now);
    if matches!(state, DeskState::Serving | DeskState::Complete | DeskState::Transfer) {
        let case_ref = desk.case_ref().expect("a case").to_string();
        desk.handle(Input::CaseLoaded { case_ref, case: case() }, now);
    }
    match state {
        DeskState::Complete => {
            desk.handle(Input::Act(Action::Complete), now);
        }
        DeskState::Transfer => {
            desk.handle(Input::Act(Action::Transfer), now);
        }
        _ => {}
    }
    desk
}
