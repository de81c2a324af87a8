//! The board's screen: the Slint window of `ui/board.slint`, and [`Frame`], everything it shows
//! as plain data, made from a [`BoardView`] and the clock by [`Frame::new`] (pure, tested
//! without a window) and put on the window by [`Frame::show`].
//!
//! Every word comes from the localisation files in both languages; the layout puts Arabic on
//! the right and English on the left.
use chrono::{DateTime, Datelike, FixedOffset, Utc};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::{Call, Names, ServiceSummary};
use slint::{ModelRc, SharedString, VecModel};

use crate::board::BoardView;

slint::include_modules!();

/// How many earlier calls the screen lists under "recent calls".
pub const HISTORY_ROWS: usize = 6;

/// Text the branch adds at the bottom of its boards (e.g. "Friday: closed").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub ar: String,
    pub en: String,
}

/// One frame of the board.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub branch: Names,
    pub time: String,
    pub date_ar: String,
    pub date_en: String,
    pub message: Message,
    pub online: bool,
    pub labels: Labels,
    /// The current call, if any, with its service's names.
    pub current: Option<(CallRow, Names)>,
    pub highlighted: bool,
    pub history: Vec<CallRow>,
    pub services: Vec<ServiceRow>,
}

fn text(texts: &Texts, lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> SharedString {
    texts.get(lang, key, args).into()
}

fn call_row(call: &Call) -> CallRow {
    CallRow {
        ticket: call.ticket.as_str().into(),
        counter: call.counter.as_str().into(),
        counter_ar: call.counter_name.ar.as_str().into(),
        counter_en: call.counter_name.en.as_str().into(),
        recall: call.recall,
    }
}

fn service_row(texts: &Texts, service: &ServiceSummary) -> ServiceRow {
    let count = [("count", Arg::Number(f64::from(service.waiting)))];
    let minutes = [("minutes", Arg::Number(f64::from(service.estimated_wait_s.div_ceil(60))))];
    let wait = |lang| {
        if service.open {
            text(texts, lang, "service-wait", &minutes)
        } else {
            text(texts, lang, "service-closed", &[])
        }
    };
    ServiceRow {
        name_ar: service.name.ar.as_str().into(),
        name_en: service.name.en.as_str().into(),
        waiting_ar: text(texts, Lang::Ar, "service-waiting", &count),
        waiting_en: text(texts, Lang::En, "service-waiting", &count),
        wait_ar: wait(Lang::Ar),
        wait_en: wait(Lang::En),
        open: service.open,
    }
}

fn labels(texts: &Texts) -> Labels {
    let both = |key: &str| (text(texts, Lang::Ar, key, &[]), text(texts, Lang::En, key, &[]));
    let (ticket_ar, ticket_en) = both("board-ticket");
    let (counter_ar, counter_en) = both("board-counter");
    let (recent_ar, recent_en) = both("board-recent");
    let (recall_ar, recall_en) = both("board-recall");
    let (offline_ar, offline_en) = both("board-offline");
    let (no_calls_ar, no_calls_en) = both("board-no-calls");
    Labels {
        ticket_ar,
        ticket_en,
        counter_ar,
        counter_en,
        recent_ar,
        recent_en,
        recall_ar,
        recall_en,
        offline_ar,
        offline_en,
        no_calls_ar,
        no_calls_en,
    }
}

impl Frame {
    /// What the board shows at `now`, in the branch's time zone `offset`.
    pub fn new(view: &BoardView, message: &Message, now: DateTime<Utc>, offset: FixedOffset, texts: &Texts) -> Frame {
        let local = now.with_timezone(&offset);
        let (year, month, day) = (local.year(), local.month() as u8, local.day() as u8);
        let weekday = local.weekday().number_from_monday() as u8;
        let hijri = HijriDate::from_gregorian(year, month, day).map(|h| texts.hijri_date(Lang::Ar, h));
        let gregorian_ar = texts.gregorian_date(Lang::Ar, year, month, day, weekday);
        Frame {
            branch: view.branch_name.clone(),
            time: local.format("%H:%M").to_string(),
            date_ar: hijri.map_or(gregorian_ar.clone(), |h| format!("{h} · {gregorian_ar}")),
            date_en: texts.gregorian_date(Lang::En, year, month, day, weekday),
            message: message.clone(),
            online: view.online,
            labels: labels(texts),
            current: view.current.as_ref().map(|c| (call_row(c), c.service_name.clone())),
            highlighted: view.highlighted(now),
            history: view.history.iter().map(call_row).collect(),
            services: view.services.iter().map(|s| service_row(texts, s)).collect(),
        }
    }

    /// Puts the frame on the window.
    pub fn show(&self, window: &BoardWindow) {
        window.set_branch_ar(self.branch.ar.as_str().into());
        window.set_branch_en(self.branch.en.as_str().into());
        window.set_time(self.time.as_str().into());
        window.set_date_ar(self.date_ar.as_str().into());
        window.set_date_en(self.date_en.as_str().into());
        window.set_message_ar(self.message.ar.as_str().into());
        window.set_message_en(self.message.en.as_str().into());
        window.set_online(self.online);
        window.set_labels(self.labels.clone());
        window.set_has_call(self.current.is_some());
        if let Some((call, service)) = &self.current {
            window.set_current(call.clone());
            window.set_service_ar(service.ar.as_str().into());
            window.set_service_en(service.en.as_str().into());
        }
        window.set_highlighted(self.highlighted);
        window.set_history(ModelRc::new(VecModel::from(self.history.clone())));
        window.set_services(ModelRc::new(VecModel::from(self.services.clone())));
    }
}

/// Scales the 1920×1080 design to fit a window of `width`×`height` logical pixels whole: the
/// board keeps its 16:9 shape, centred, with bands of its background where the window's shape
/// differs (`ui/board.slint`).
pub fn fit(window: &BoardWindow, width: f32, height: f32) {
    window.set_unit((width / 1920.0).min(height / 1080.0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{BoardFilter, BoardState};
    use dawr_protocol::api::Board;

    fn names(ar: &str, en: &str) -> Names {
        Names { ar: ar.into(), en: en.into() }
    }

    fn plain(s: &str) -> String {
        s.replace(['\u{2068}', '\u{2069}'], "")
    }

    #[test]
    fn a_frame_has_both_languages_dates_and_waits() {
        let now: DateTime<Utc> = "2026-11-23T07:05:00Z".parse().unwrap();
        let call = |id, ticket: &str, counter: &str, recall| Call {
            id,
            ticket: ticket.into(),
            counter: counter.into(),
            service: "A".into(),
            recall,
            at: now,
            service_name: names("التوثيق", "Notarization"),
            counter_name: names(&format!("الشباك {counter}"), &format!("Counter {counter}")),
        };
        let service = |code: &str, open, waiting, wait_s| ServiceSummary {
            code: code.into(),
            name: names("التوثيق", "Notarization"),
            open,
            waiting,
            estimated_wait_s: wait_s,
            estimated_wait_range_s: [0, 0],
            target_wait_s: 900,
        };
        let mut state = BoardState::new(BoardFilter::default(), chrono::Duration::seconds(8), 5);
        state.set_online(true);
        state.apply_board(
            Board {
                branch: "demo".into(),
                name: names("فرع الرياض", "Riyadh branch"),
                updated_at: now,
                calls: vec![call(2, "A002", "3", true), call(1, "A001", "1", false)],
                services: vec![service("A", true, 5, 610), service("B", false, 0, 0)],
                utc_offset: None,
            },
            now,
        );
        state.apply_call(call(3, "A003", "2", false), now);
        let texts = Texts::new();
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let frame = Frame::new(&state.view(now), &Message::default(), now, offset, &texts);

        assert_eq!(frame.time, "10:05", "local time in the branch's zone");
        assert_eq!(plain(&frame.date_en), "Monday 23 November 2026");
        assert_eq!(plain(&frame.date_ar), "13 جمادى الآخرة 1448 هـ · الاثنين 23 نوفمبر 2026 م");
        assert_eq!(frame.branch.en, "Riyadh branch");
        let (current, service) = frame.current.clone().unwrap();
        assert_eq!((current.ticket.as_str(), current.counter.as_str()), ("A003", "2"));
        assert_eq!(current.counter_ar.as_str(), "الشباك 2");
        assert_eq!(service.en, "Notarization");
        assert!(frame.highlighted, "a call that just came is highlighted");
        assert_eq!(frame.history.iter().map(|c| c.ticket.as_str()).collect::<Vec<_>>(), ["A002", "A001"]);
        assert!(frame.history[0].recall);
        let open = &frame.services[0];
        assert_eq!(plain(&open.waiting_en), "5 waiting");
        assert_eq!(plain(&open.waiting_ar), "5 أشخاص في الانتظار");
        assert_eq!(plain(&open.wait_en), "About 11 min", "minutes round up");
        assert_eq!(plain(&open.wait_ar), "نحو 11 دقيقة");
        let closed = &frame.services[1];
        assert!(!closed.open);
        assert_eq!(plain(&closed.wait_en), "Closed now");
        assert_eq!(plain(&closed.waiting_ar), "لا أحد في الانتظار");
        assert_eq!(frame.labels.ticket_ar.as_str(), "التذكرة");

        let later = now + chrono::Duration::seconds(9);
        assert!(!Frame::new(&state.view(now), &Message::default(), later, offset, &texts).highlighted);
    }
}
