//! The counter app's screen: the Slint window of `ui/counter.slint`, and [`show`], which draws a
//! [`Desk`] with every word from the localisation files in the chosen language.
use chrono::{DateTime, Utc};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::{Names, Priority, Source};
use dawr_protocol::device::{CounterStatus, CurrentStatus};
use slint::{ModelRc, SharedString, VecModel};

use crate::flow::{Desk, Question};

slint::include_modules!();

/// What the screen needs besides the desk: the branch's names and the timer's thresholds.
#[derive(Debug, Clone)]
pub struct Branch {
    pub counter_name: Names,
    /// Services by code, for names and the transfer question.
    pub services: Vec<(String, Names)>,
    /// The other counters by id, for the transfer question.
    pub counters: Vec<(String, Names)>,
    pub utc_offset: chrono::FixedOffset,
    /// The service timer turns amber, then red, after these many seconds.
    pub amber_s: i64,
    pub red_s: i64,
}

fn pick(names: &Names, lang: Lang) -> &str {
    match lang {
        Lang::Ar => &names.ar,
        Lang::En => &names.en,
    }
}

fn words(texts: &Texts, lang: Lang, counter: &str) -> Words {
    let w = |key: &str| -> SharedString { texts.get(lang, key, &[]).into() };
    Words {
        title: texts.get(lang, "counter-title", &[("counter", Arg::Text(counter))]).into(),
        staff_id: w("counter-staff-id"),
        pin: w("counter-pin"),
        sign_in: w("counter-sign-in"),
        sign_out: w("counter-sign-out"),
        language: w("switch-language"),
        current: w("counter-current"),
        nobody: w("counter-nobody"),
        waiting: w("counter-waiting"),
        nobody_waiting: w("counter-nobody-waiting"),
        served_today: w("counter-served"),
        next: w("counter-next"),
        recall: w("counter-recall"),
        start: w("counter-start"),
        complete: w("counter-complete"),
        no_show: w("counter-no-show"),
        transfer: w("counter-transfer"),
        pause: w("counter-pause"),
        cancel: w("counter-cancel"),
        call_hint: w("counter-call-hint"),
        case: w("counter-case"),
        category: w("counter-category"),
        notes: w("counter-notes"),
        save: w("counter-save-case"),
        visitor: w("counter-visitor"),
        earlier: w("counter-earlier"),
        transfer_note: w("counter-transfer-note"),
    }
}

/// The answers a question offers: `(id sent back, localisation key)`.
pub fn choices(question: &Question, branch: &Branch, lang: Lang, texts: &Texts) -> Vec<Choice> {
    let keyed = |list: &[(&str, &str)]| {
        list.iter().map(|(id, key)| Choice { id: (*id).into(), label: texts.get(lang, key, &[]).into() }).collect()
    };
    match question {
        Question::Outcome => keyed(&[
            ("resolved", "outcome-resolved"),
            ("follow_up", "outcome-follow-up"),
            ("referred", "outcome-referred"),
        ]),
        Question::CallReason { .. } => keyed(&[
            ("elderly_or_disabled", "reason-elderly"),
            ("returning_visitor", "reason-returning"),
            ("other", "reason-other"),
        ]),
        Question::PauseReason => keyed(&[
            ("prayer", "reason-prayer"),
            ("break", "reason-break"),
            ("meeting", "reason-meeting"),
            ("other", "reason-other"),
        ]),
        Question::TransferTo => branch
            .services
            .iter()
            .map(|(code, names)| Choice {
                id: format!("service:{code}").into(),
                label: format!("{code} · {}", pick(names, lang)).into(),
            })
            .chain(
                branch
                    .counters
                    .iter()
                    .map(|(id, names)| Choice { id: format!("counter:{id}").into(), label: pick(names, lang).into() }),
            )
            .collect(),
    }
}

fn minutes_seconds(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds.max(0) / 60, seconds.max(0) % 60)
}

/// Draws the desk on the window at `now`.
pub fn show(window: &CounterWindow, desk: &Desk, branch: &Branch, texts: &Texts, now: DateTime<Utc>) {
    let lang = desk.lang;
    let t = |key: &str, args: &[(&str, Arg<'_>)]| texts.get(lang, key, args);
    window.set_rtl(lang == Lang::Ar);
    window.set_words(words(texts, lang, pick(&branch.counter_name, lang)));
    window.set_signed_in(desk.signed_in.is_some());
    window.set_busy(desk.busy());
    window.set_linked(desk.linked);
    let header = match &desk.signed_in {
        Some(s) => {
            let name = if lang == Lang::Ar { &s.name_ar } else { &s.name_en };
            let header = t("counter-header", &[("counter", Arg::Text(&desk.counter)), ("name", Arg::Text(name))]);
            if s.services.is_empty() {
                header
            } else {
                let services = s.services.join(if lang == Lang::Ar { "، " } else { ", " });
                t("counter-header-serving", &[("header", Arg::Text(&header)), ("services", Arg::Text(&services))])
            }
        }
        None => pick(&branch.counter_name, lang).to_string(),
    };
    window.set_header(header.into());
    let status = desk.state.as_ref().map(|s| s.status);
    window.set_paused(status.is_some_and(|s| s != CounterStatus::Open));
    window.set_status_line(
        match status {
            Some(CounterStatus::Open) => t("counter-status-open", &[]),
            Some(CounterStatus::Paused) => t("counter-status-paused", &[]),
            Some(CounterStatus::Closed) => t("counter-status-closed", &[]),
            None => String::new(),
        }
        .into(),
    );
    let mut words = window.get_words();
    if status.is_some_and(|s| s != CounterStatus::Open) {
        words.pause = t("counter-resume", &[]).into();
    }
    words.served_today = match desk.figures {
        Some((served, mean)) => t(
            "counter-today",
            &[
                ("count", Arg::Number(f64::from(served))),
                ("minutes", Arg::Number(mean.map_or(0.0, |m| (m / 60.0).round()))),
            ],
        ),
        None => t("counter-served", &[("count", Arg::Number(f64::from(desk.served)))]),
    }
    .into();
    window.set_served(words.served_today.clone());
    let mut actions: Vec<ActionItem> = [
        ("next", &words.next, "N · F1"),
        ("recall", &words.recall, "R · F2"),
        ("start", &words.start, "S · F3"),
        ("complete", &words.complete, "C · F4"),
        ("no_show", &words.no_show, "X · F5"),
        ("transfer", &words.transfer, "T · F6"),
        ("pause", &words.pause, "P · F7"),
    ]
    .into_iter()
    .map(|(id, label, shortcut)| ActionItem {
        id: id.into(),
        label: label.clone(),
        shortcut: shortcut.into(),
        primary: id == "next",
    })
    .collect();
    if lang == Lang::Ar {
        actions.reverse();
    }
    window.set_actions(ModelRc::new(VecModel::from(actions)));
    window.set_words(words);

    let current = desk.state.as_ref().and_then(|s| s.current.as_ref());
    window.set_ticket(current.map(|c| c.ticket.as_str()).unwrap_or_default().into());
    let service = current.and_then(|c| branch.services.iter().find(|(code, _)| code == c.service.as_str()));
    window.set_service(service.map(|(_, n)| pick(n, lang).to_string()).unwrap_or_default().into());
    window.set_visit_status(
        match current.map(|c| c.status) {
            Some(CurrentStatus::Called) => t("counter-visit-called", &[]),
            Some(CurrentStatus::Serving) => t("counter-visit-serving", &[]),
            None => String::new(),
        }
        .into(),
    );
    let since = current.and_then(|c| DateTime::parse_from_rfc3339(c.since.as_str()).ok());
    let elapsed = since.map(|s| (now - s.with_timezone(&Utc)).num_seconds());
    window.set_timer(elapsed.map(minutes_seconds).unwrap_or_default().into());
    window.set_timer_level(match elapsed {
        Some(e) if e >= branch.red_s => TimerLevel::Red,
        Some(e) if e >= branch.amber_s => TimerLevel::Amber,
        _ => TimerLevel::OnTime,
    });

    let rows: Vec<WaitingRow> = desk
        .waiting
        .iter()
        .map(|ticket| {
            let waited = (now - ticket.issued_at).num_minutes().max(0);
            let note = match (ticket.priority, ticket.appointment_at) {
                (Priority::Appointment, Some(at)) => {
                    let time = at.with_timezone(&branch.utc_offset).format("%H:%M").to_string();
                    t("counter-appointment", &[("time", Arg::Text(&time))])
                }
                (Priority::Assisted, _) => t("counter-assisted", &[]),
                // Joined from a phone: called only once checked in at the kiosk.
                _ if ticket.source == Source::Remote && ticket.arrived_at.is_some() => t("counter-remote-arrived", &[]),
                _ if ticket.source == Source::Remote => t("counter-remote-away", &[]),
                _ => String::new(),
            };
            WaitingRow {
                ticket: ticket.number.as_str().into(),
                service: pick(&ticket.service_name, lang).into(),
                waited: t("counter-waited", &[("minutes", Arg::Number(waited as f64))]).into(),
                note: note.into(),
                assisted: ticket.priority != Priority::Normal,
            }
        })
        .collect();
    window.set_waiting(ModelRc::new(VecModel::from(rows)));

    let (question, answers) = match &desk.question {
        Some(q) => {
            let text = match q {
                Question::Outcome => t("counter-ask-outcome", &[]),
                Question::CallReason { ticket } => t("counter-ask-call-reason", &[("ticket", Arg::Text(ticket))]),
                Question::PauseReason => t("counter-ask-pause-reason", &[]),
                Question::TransferTo => t("counter-ask-transfer", &[]),
            };
            (text, choices(q, branch, lang, texts))
        }
        None => (String::new(), Vec::new()),
    };
    window.set_question(question.into());
    window.set_question_wants_note(desk.question == Some(Question::TransferTo));
    window.set_choices(ModelRc::new(VecModel::from(answers)));
    window.set_case_ref(desk.case_ref().unwrap_or_default().into());
    let case = desk.case.clone().unwrap_or_default();
    let due = case
        .due_at
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| {
            t(
                "counter-case-due",
                &[("at", Arg::Text(&d.with_timezone(&branch.utc_offset).format("%Y-%m-%d %H:%M").to_string()))],
            )
        })
        .unwrap_or_default();
    window.set_case_due(due.into());
    let earlier: Vec<SharedString> = case
        .earlier
        .iter()
        .map(|(ticket, service, day, outcome)| {
            let service = branch
                .services
                .iter()
                .find(|(code, _)| code == service)
                .map_or(service.clone(), |(_, n)| pick(n, lang).to_string());
            let outcome = if outcome.is_empty() {
                String::new()
            } else {
                format!(" · {}", t(&format!("outcome-{}", outcome.replace('_', "-")), &[]))
            };
            format!("{day} · {ticket} · {service}{outcome}").into()
        })
        .collect();
    window.set_case_earlier(ModelRc::new(VecModel::from(earlier)));
    window.set_case_saved(desk.case_saved.map(|key| t(key, &[])).unwrap_or_default().into());
    let notice = desk.notice.as_ref().map(|n| t(n.key, &[])).unwrap_or_default();
    window.set_notice(notice.into());
}
