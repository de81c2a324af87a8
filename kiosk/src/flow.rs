//! What the kiosk does, as a state machine with no IO: touches, key presses, the hub's and the
//! printer's answers and the clock go in ([`Input`]); the state the screen draws ([`Kiosk`])
//! changes, and the requests to make come out ([`Effect`]). The shell (`app`) performs the
//! effects and feeds their results back.
//!
//! Rules a visitor relies on:
//! - Two touches to a ticket: language, then service. Closed services cannot be chosen.
//! - One touch is one ticket: an issue carries a request id, and a retry reuses it, so the hub
//!   never issues two tickets for one touch (see `request_id` in docs/PROTOCOL.md).
//! - A printer that fails never loses the visitor: the ticket is shown as an e-ticket QR.
//! - After 30 s without a touch the kiosk goes back to the language screen.
//! - A barcode scanner types a booking code fast and ends with Enter: such a burst is a scan.
//! - A mobile for SMS is optional and never in the way: where the hub sends SMS, the services
//!   screen offers it; the visitor types it on a digit pad, it is checked (a Saudi mobile) and
//!   goes with the ticket request, in the session's language; the next visitor starts without it.
use chrono::{DateTime, Duration, Utc};
use dawr_i18n::Lang;
use dawr_protocol::api::sms::{TicketSms, saudi_mobile};
use dawr_protocol::api::{Priority, ServiceSummary, Ticket};

/// How long the kiosk waits for a touch before going back to the language screen.
pub const IDLE: Duration = Duration::seconds(30);
/// Keys closer together than this are typed by a scanner, not a person.
pub const SCAN_GAP: Duration = Duration::milliseconds(60);
/// A scan is at least this long (booking codes are longer).
pub const SCAN_MIN_LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Choose Arabic or English.
    Welcome,
    /// The services as large buttons.
    Services,
    /// Waiting for the hub's answer.
    Issuing,
    /// The ticket: printed, or shown as an e-ticket QR.
    Ticket,
    /// Type or scan a booking code.
    CheckIn,
    /// Type a mobile for the ticket's SMS (optional).
    Mobile,
}

/// A message on the screen, by localisation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub key: &'static str,
    /// The hub's own explanation, when it gave one.
    pub detail: Option<String>,
}

/// Why the hub gave no ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The hub could not be reached (the shell already retried with the same request id).
    Unreachable,
    /// The hub said no (4xx), with its message.
    Refused { error: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Touch,
    ChooseLanguage(Lang),
    ChooseService(String),
    ToggleAssisted,
    ToggleLargeText,
    ToggleHighContrast,
    OpenCheckIn,
    /// The visitor wants the ticket's SMS: the digit pad for a mobile.
    OpenMobile,
    /// Whether the hub sends SMS (its branch answer), so the mobile field is offered.
    SmsOffered(bool),
    /// A character typed on the screen's keypad or by a keyboard/scanner.
    Key(char),
    Backspace,
    /// Enter: submits the code on the check-in screen; ends a scan anywhere.
    Enter,
    Back,
    /// The hub's services, or `None` when it cannot be reached.
    Services(Option<Vec<ServiceSummary>>),
    Issued(Result<Box<Ticket>, Refusal>),
    /// The printer printed the ticket (true) or failed (false).
    Printed(bool),
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Issue { service: String, priority: Priority, request_id: String, sms: Option<TicketSms> },
    CheckIn { code: String, request_id: String },
    Print(Box<Ticket>),
}

/// Whether the ticket was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Printing {
    Printing,
    Printed,
    /// The printer failed: the screen shows the e-ticket QR.
    Failed,
}

/// The kiosk's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Kiosk {
    pub screen: Screen,
    pub lang: Lang,
    pub assisted: bool,
    pub large_text: bool,
    pub high_contrast: bool,
    pub services: Vec<ServiceSummary>,
    /// False while the hub cannot be reached: the screen says "please wait".
    pub hub_up: bool,
    pub ticket: Option<Ticket>,
    pub printing: Printing,
    /// The booking code being typed.
    pub code: String,
    /// Whether the hub sends SMS: the services screen offers the mobile field.
    pub sms_offered: bool,
    /// The mobile being typed on the digit pad.
    pub mobile: String,
    /// The mobile accepted for the next ticket's SMS (`+9665…`).
    pub sms_to: Option<String>,
    /// The mobile the ticket on the screen sends its SMS to.
    pub ticket_sms: Option<String>,
    pub notice: Option<Notice>,
    last_touch: DateTime<Utc>,
    /// Keys arriving fast, with the time of the last one: maybe a scan.
    burst: String,
    burst_at: Option<DateTime<Utc>>,
    next_request: u64,
    device: String,
}

impl Kiosk {
    /// A kiosk named `device` (its request ids start with it) at `now`.
    pub fn new(device: &str, now: DateTime<Utc>) -> Kiosk {
        Kiosk {
            screen: Screen::Welcome,
            lang: Lang::Ar,
            assisted: false,
            large_text: false,
            high_contrast: false,
            services: Vec::new(),
            hub_up: false,
            ticket: None,
            printing: Printing::Printing,
            code: String::new(),
            sms_offered: false,
            mobile: String::new(),
            sms_to: None,
            ticket_sms: None,
            notice: None,
            last_touch: now,
            burst: String::new(),
            burst_at: None,
            next_request: 0,
            device: device.to_string(),
        }
    }

    fn request_id(&mut self, now: DateTime<Utc>) -> String {
        self.next_request += 1;
        format!("{}-{}-{}", self.device, now.timestamp_millis(), self.next_request)
    }

    fn reset(&mut self) {
        self.screen = Screen::Welcome;
        self.assisted = false;
        self.code.clear();
        self.notice = None;
        self.ticket = None;
        self.mobile.clear();
        self.sms_to = None;
        self.ticket_sms = None;
    }

    /// Applies one input at `now`; returns what the shell must do.
    pub fn handle(&mut self, input: Input, now: DateTime<Utc>) -> Vec<Effect> {
        let touched = !matches!(input, Input::Services(_) | Input::Issued(_) | Input::Printed(_) | Input::Tick);
        if touched {
            self.last_touch = now;
        }
        match input {
            Input::Touch => {}
            Input::ChooseLanguage(lang) => {
                self.lang = lang;
                self.notice = None;
                self.screen = Screen::Services;
            }
            Input::ChooseService(code) if self.screen == Screen::Services => {
                let open = self.services.iter().any(|s| s.code == code && s.open);
                if !self.hub_up {
                    self.notice = Some(Notice { key: "kiosk-hub-down", detail: None });
                } else if open {
                    let priority = if self.assisted { Priority::Assisted } else { Priority::Normal };
                    let request_id = self.request_id(now);
                    self.screen = Screen::Issuing;
                    self.notice = None;
                    let lang = if self.lang == Lang::En { "en" } else { "ar" };
                    let sms = self
                        .sms_to
                        .as_ref()
                        .filter(|_| self.sms_offered)
                        .map(|mobile| TicketSms { mobile: mobile.clone(), lang: Some(lang.into()) });
                    return vec![Effect::Issue { service: code, priority, request_id, sms }];
                } else {
                    self.notice = Some(Notice { key: "kiosk-service-closed", detail: None });
                }
            }
            Input::ChooseService(_) => {}
            Input::ToggleAssisted => self.assisted = !self.assisted,
            Input::ToggleLargeText => self.large_text = !self.large_text,
            Input::ToggleHighContrast => self.high_contrast = !self.high_contrast,
            Input::OpenCheckIn => {
                self.code.clear();
                self.notice = None;
                self.screen = Screen::CheckIn;
            }
            Input::OpenMobile if self.screen == Screen::Services && self.sms_offered => {
                self.mobile = self.sms_to.as_deref().map(national).unwrap_or_default();
                self.notice = None;
                self.screen = Screen::Mobile;
            }
            Input::OpenMobile => {}
            Input::SmsOffered(offered) => {
                self.sms_offered = offered;
                if !offered {
                    self.sms_to = None;
                    if self.screen == Screen::Mobile {
                        self.screen = Screen::Services;
                    }
                }
            }
            Input::Key(c) => {
                let fast = self.burst_at.is_some_and(|at| now - at <= SCAN_GAP);
                if !fast {
                    self.burst.clear();
                }
                self.burst.push(c);
                self.burst_at = Some(now);
                if self.screen == Screen::CheckIn && c.is_ascii_alphanumeric() && self.code.len() < 16 {
                    self.code.push(c.to_ascii_uppercase());
                }
                if self.screen == Screen::Mobile
                    && let Some(digit) = ascii_digit(c)
                    && self.mobile.len() < MOBILE_MAX_LEN
                {
                    self.mobile.push(digit);
                }
            }
            Input::Backspace => {
                if self.screen == Screen::Mobile {
                    self.mobile.pop();
                } else {
                    self.code.pop();
                }
                self.burst.clear();
            }
            Input::Enter => {
                let scanned = self.burst.len() >= SCAN_MIN_LEN && self.burst_at.is_some_and(|at| now - at <= SCAN_GAP);
                let code = if scanned {
                    Some(self.burst.trim().to_ascii_uppercase())
                } else if self.screen == Screen::CheckIn && !self.code.is_empty() {
                    Some(self.code.clone())
                } else {
                    None
                };
                self.burst.clear();
                self.burst_at = None;
                if !scanned && self.screen == Screen::Mobile {
                    self.accept_mobile();
                    return vec![];
                }
                if let Some(code) = code
                    && matches!(self.screen, Screen::Welcome | Screen::Services | Screen::CheckIn)
                {
                    if !self.hub_up {
                        self.notice = Some(Notice { key: "kiosk-hub-down", detail: None });
                        return vec![];
                    }
                    self.code = code.clone();
                    let request_id = self.request_id(now);
                    self.screen = Screen::Issuing;
                    self.notice = None;
                    return vec![Effect::CheckIn { code, request_id }];
                }
            }
            Input::Back => match self.screen {
                Screen::CheckIn | Screen::Ticket | Screen::Mobile => {
                    self.screen = Screen::Services;
                    self.notice = None;
                    self.ticket_sms = None;
                }
                _ => self.reset(),
            },
            Input::Services(Some(services)) => {
                self.services = services;
                self.hub_up = true;
                if self.notice.as_ref().is_some_and(|n| n.key == "kiosk-hub-down") {
                    self.notice = None;
                }
            }
            Input::Services(None) => self.hub_up = false,
            Input::Issued(Ok(ticket)) if self.screen == Screen::Issuing => {
                self.printing = Printing::Printing;
                self.screen = Screen::Ticket;
                self.ticket = Some((*ticket).clone());
                // The mobile went with this ticket; the next ticket starts without it.
                self.ticket_sms = if self.code.is_empty() { self.sms_to.take() } else { None };
                self.last_touch = now;
                return vec![Effect::Print(ticket)];
            }
            Input::Issued(Err(refusal)) if self.screen == Screen::Issuing => {
                let back = if self.code.is_empty() { Screen::Services } else { Screen::CheckIn };
                self.screen = back;
                self.notice = Some(match refusal {
                    Refusal::Unreachable => {
                        self.hub_up = false;
                        Notice { key: "kiosk-hub-down", detail: None }
                    }
                    Refusal::Refused { error, message } => Notice { key: refusal_key(&error), detail: Some(message) },
                });
            }
            Input::Issued(_) => {}
            Input::Printed(ok) => {
                self.printing = if ok { Printing::Printed } else { Printing::Failed };
            }
            Input::Tick => {
                if self.screen != Screen::Welcome && self.screen != Screen::Issuing && now - self.last_touch >= IDLE {
                    self.reset();
                }
            }
        }
        vec![]
    }
}

/// The longest mobile typed on the digit pad (`05XXXXXXXX`; `9665…` with its country code).
const MOBILE_MAX_LEN: usize = 12;

/// A digit typed (Arabic-Indic digits as ASCII); `None` for anything else.
fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '٠'..='٩' => char::from_digit(c as u32 - '٠' as u32, 10),
        _ => None,
    }
}

/// A mobile as a Saudi visitor writes it: `+966501234567` → `0501234567`.
pub fn national(mobile: &str) -> String {
    match mobile.strip_prefix("+966") {
        Some(rest) => format!("0{rest}"),
        None => mobile.to_string(),
    }
}

impl Kiosk {
    /// The digit pad's "save": a Saudi mobile is kept for the next ticket, nothing typed removes
    /// it, anything else says how to type it.
    fn accept_mobile(&mut self) {
        if self.mobile.is_empty() {
            self.sms_to = None;
        } else if let Some(mobile) = saudi_mobile(&self.mobile) {
            self.sms_to = Some(mobile);
        } else {
            self.notice = Some(Notice { key: "kiosk-mobile-invalid", detail: None });
            return;
        }
        self.notice = None;
        self.screen = Screen::Services;
    }
}

/// The message for a hub's refusal, by its error code (docs/PROTOCOL.md).
fn refusal_key(error: &str) -> &'static str {
    match error {
        "service_closed" => "kiosk-service-closed",
        "booking_not_found" | "not_found" => "kiosk-code-unknown",
        "booking_used" => "kiosk-code-used",
        "booking_cancelled" => "kiosk-code-cancelled",
        "not_today" => "kiosk-code-not-today",
        "too_early" => "kiosk-code-early",
        "too_late" => "kiosk-code-late",
        "token_invalid" => "kiosk-code-forged",
        "token_other_branch" => "kiosk-code-other-branch",
        _ => "kiosk-refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::api::Names;

    fn t(ms: i64) -> DateTime<Utc> {
        "2026-11-23T07:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::milliseconds(ms)
    }

    fn services() -> Vec<ServiceSummary> {
        let service = |code: &str, open| ServiceSummary {
            code: code.into(),
            name: Names { ar: code.into(), en: code.into() },
            open,
            waiting: 3,
            estimated_wait_s: 300,
            estimated_wait_range_s: [60, 600],
            target_wait_s: 900,
        };
        vec![service("A", true), service("E", false)]
    }

    fn kiosk() -> Kiosk {
        let mut k = Kiosk::new("kiosk-1", t(0));
        k.handle(Input::Services(Some(services())), t(0));
        k
    }

    #[test]
    fn two_touches_make_one_ticket_and_a_closed_service_says_so() {
        let mut k = kiosk();
        assert!(k.handle(Input::ChooseLanguage(Lang::En), t(100)).is_empty());
        assert_eq!(k.screen, Screen::Services);
        assert!(k.handle(Input::ChooseService("E".into()), t(200)).is_empty());
        assert_eq!(k.notice.as_ref().unwrap().key, "kiosk-service-closed");
        k.handle(Input::ToggleAssisted, t(250));
        let effects = k.handle(Input::ChooseService("A".into()), t(300));
        let [Effect::Issue { service, priority, request_id, sms }] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!(*sms, None, "no mobile given");
        assert_eq!((service.as_str(), *priority), ("A", Priority::Assisted));
        assert!(request_id.starts_with("kiosk-1-"));
        assert_eq!(k.screen, Screen::Issuing);
        // A second touch while issuing does nothing: one touch, one ticket.
        assert!(k.handle(Input::ChooseService("A".into()), t(350)).is_empty());

        let (_, ticket) = crate::ticket::sample();
        let effects = k.handle(Input::Issued(Ok(Box::new(ticket.clone()))), t(400));
        assert_eq!(effects, [Effect::Print(Box::new(ticket))]);
        assert_eq!((k.screen, k.printing), (Screen::Ticket, Printing::Printing));
        k.handle(Input::Printed(false), t(500));
        assert_eq!(k.printing, Printing::Failed, "the screen shows the e-ticket instead");
    }

    #[test]
    fn a_mobile_typed_on_the_digit_pad_goes_with_the_next_ticket_only() {
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::En), t(0));
        k.handle(Input::OpenMobile, t(10));
        assert_eq!(k.screen, Screen::Services, "not offered while the hub sends no SMS");
        k.handle(Input::SmsOffered(true), t(20));
        k.handle(Input::OpenMobile, t(30));
        assert_eq!(k.screen, Screen::Mobile);
        for (i, c) in "05012x345".chars().enumerate() {
            k.handle(Input::Key(c), t(1_000 + 300 * i as i64));
        }
        k.handle(Input::Enter, t(4_000));
        assert_eq!((k.screen, k.notice.as_ref().map(|n| n.key)), (Screen::Mobile, Some("kiosk-mobile-invalid")));
        assert_eq!(k.mobile, "05012345", "only digits are typed");
        for (i, c) in "٦٧".chars().enumerate() {
            k.handle(Input::Key(c), t(4_100 + 300 * i as i64));
        }
        k.handle(Input::Enter, t(5_000));
        assert_eq!((k.screen, k.sms_to.as_deref()), (Screen::Services, Some("+966501234567")));
        assert!(k.notice.is_none());

        let effects = k.handle(Input::ChooseService("A".into()), t(5_100));
        let [Effect::Issue { sms: Some(sms), .. }] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!((sms.mobile.as_str(), sms.lang.as_deref()), ("+966501234567", Some("en")));
        let (_, ticket) = crate::ticket::sample();
        k.handle(Input::Issued(Ok(Box::new(ticket))), t(5_200));
        assert_eq!(k.ticket_sms.as_deref(), Some("+966501234567"), "the ticket screen says where texts go");
        k.handle(Input::Back, t(5_300));
        let effects = k.handle(Input::ChooseService("A".into()), t(5_400));
        assert!(
            matches!(&effects[..], [Effect::Issue { sms: None, .. }]),
            "the next ticket has no mobile: {effects:?}"
        );

        // Saving nothing removes a mobile; the idle timeout forgets it.
        k.handle(Input::Issued(Err(Refusal::Unreachable)), t(5_500));
        k.handle(Input::Services(Some(services())), t(5_600));
        k.handle(Input::OpenMobile, t(6_000));
        "0501234567".chars().for_each(|c| {
            k.handle(Input::Key(c), t(6_100));
        });
        k.handle(Input::Backspace, t(6_200));
        assert_eq!(k.mobile, "050123456");
        (0..9).for_each(|_| {
            k.handle(Input::Backspace, t(6_300));
        });
        k.handle(Input::Enter, t(6_400));
        assert_eq!((k.screen, k.sms_to.as_deref()), (Screen::Services, None));
        k.handle(Input::OpenMobile, t(7_000));
        "0551234567".chars().for_each(|c| {
            k.handle(Input::Key(c), t(7_100));
        });
        k.handle(Input::Enter, t(8_000));
        assert!(k.sms_to.is_some());
        k.handle(Input::Tick, t(40_000));
        assert_eq!((k.screen, k.sms_to.as_deref()), (Screen::Welcome, None), "the next visitor starts afresh");
    }

    #[test]
    fn request_ids_differ_per_touch() {
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::Ar), t(0));
        let first = k.handle(Input::ChooseService("A".into()), t(10));
        k.handle(Input::Issued(Err(Refusal::Refused { error: "x".into(), message: "no".into() })), t(20));
        let second = k.handle(Input::ChooseService("A".into()), t(30));
        assert_ne!(first, second);
    }

    #[test]
    fn an_unreachable_hub_says_please_wait_and_recovers() {
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::Ar), t(0));
        k.handle(Input::ChooseService("A".into()), t(10));
        k.handle(Input::Issued(Err(Refusal::Unreachable)), t(20));
        assert_eq!((k.screen, k.hub_up), (Screen::Services, false));
        assert_eq!(k.notice.as_ref().unwrap().key, "kiosk-hub-down");
        assert!(k.handle(Input::ChooseService("A".into()), t(30)).is_empty(), "no ticket while the hub is away");
        k.handle(Input::Services(Some(services())), t(40));
        assert!(k.hub_up && k.notice.is_none(), "back by itself");
        assert_eq!(k.handle(Input::ChooseService("A".into()), t(50)).len(), 1);
    }

    #[test]
    fn thirty_seconds_without_a_touch_go_back_to_the_language_screen() {
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::En), t(0));
        k.handle(Input::ToggleAssisted, t(1_000));
        k.handle(Input::Tick, t(30_999));
        assert_eq!(k.screen, Screen::Services, "not yet");
        k.handle(Input::Tick, t(31_000));
        assert_eq!(k.screen, Screen::Welcome);
        assert!(!k.assisted, "the next visitor starts afresh");
    }

    #[test]
    fn a_fast_burst_ending_in_enter_is_a_scan_and_typing_is_not() {
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::Ar), t(0));
        for (i, c) in "bk7q2m9x".chars().enumerate() {
            k.handle(Input::Key(c), t(1_000 + 10 * i as i64));
        }
        let effects = k.handle(Input::Enter, t(1_090));
        let [Effect::CheckIn { code, .. }] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!(code, "BK7Q2M9X");

        // A person typing slowly on the services screen does not check in.
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::Ar), t(0));
        for (i, c) in "bk7q2m9x".chars().enumerate() {
            k.handle(Input::Key(c), t(1_000 + 300 * i as i64));
        }
        assert!(k.handle(Input::Enter, t(3_500)).is_empty());

        // On the check-in screen, typed codes are submitted with Enter.
        k.handle(Input::OpenCheckIn, t(4_000));
        for (i, c) in "bk7q".chars().enumerate() {
            k.handle(Input::Key(c), t(5_000 + 300 * i as i64));
        }
        k.handle(Input::Backspace, t(6_500));
        assert_eq!(k.code, "BK7");
        let effects = k.handle(Input::Enter, t(7_000));
        assert!(matches!(&effects[..], [Effect::CheckIn { code, .. }] if code == "BK7"));
        k.handle(
            Input::Issued(Err(Refusal::Refused { error: "booking_used".into(), message: "used".into() })),
            t(7_100),
        );
        assert_eq!((k.screen, k.notice.as_ref().unwrap().key), (Screen::CheckIn, "kiosk-code-used"));
    }

    #[test]
    fn a_scanned_signed_token_goes_to_the_hub_whole_and_its_refusals_are_told() {
        // The QR code's signed token (base32, far longer than a code) is a scan like a code.
        let token = "AEEEWN2NGNIFQOKBARSGK3LPAFCQAAAAADPDFKCAAAHRWQ6VZAKT3JN5";
        let mut k = kiosk();
        k.handle(Input::ChooseLanguage(Lang::En), t(0));
        for (i, c) in token.chars().enumerate() {
            k.handle(Input::Key(c), t(1_000 + 5 * i as i64));
        }
        let effects = k.handle(Input::Enter, t(1_000 + 5 * token.len() as i64));
        assert!(matches!(&effects[..], [Effect::CheckIn { code, .. }] if code == token), "{effects:?}");
        for (error, key) in [("token_invalid", "kiosk-code-forged"), ("token_other_branch", "kiosk-code-other-branch")]
        {
            k.screen = Screen::Issuing;
            let refused = Refusal::Refused { error: error.into(), message: "no".into() };
            k.handle(Input::Issued(Err(refused)), t(9_000));
            assert_eq!(k.notice.as_ref().unwrap().key, key);
        }
    }
}
