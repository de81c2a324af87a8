//! The kiosk running: the Slint window on the main thread, the hub and the printer on a small
//! tokio runtime beside it. Every touch, key and answer becomes a [`flow::Input`]; the
//! [`flow::Kiosk`] decides; its effects are performed here and their results come back through
//! a channel that the UI thread drains; the screen is redrawn from the state after each input.
//!
//! [`flow::Input`]: crate::flow::Input
//! [`flow::Kiosk`]: crate::flow::Kiosk
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::Result;
use chrono::{FixedOffset, Utc};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::bookings::CheckIn;
use dawr_protocol::api::{ApiError, BranchInfo, IssueTicket, Names, ServiceSummary, Ticket};
use dawr_protocol::device::{Presence, PresenceStatus, PrinterHealth};
use dawr_protocol::endpoint::{MqttEndpoint, Password, describe};
use dawr_protocol::topics::Topic;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use slint::ComponentHandle;
use tokio::sync::watch;

use crate::flow::{Effect, Input, Kiosk, Refusal};
use crate::printer::{PrinterTarget, print_ticket};
use crate::screen::{KioskWindow, show};
use crate::ticket::{Paper, QrMode, TicketContext};

/// How the kiosk reaches the hub and its printer.
#[derive(Debug, Clone)]
pub struct KioskConfig {
    /// The hub's base URL, e.g. `http://127.0.0.1:8080`.
    pub hub: String,
    pub printer: PrinterTarget,
    pub paper: Paper,
    pub qr: QrMode,
    /// Its device id: request ids start with it, and its presence is published under it.
    pub device: String,
    pub branch: String,
    /// The branch's MQTT broker (the hub's embedded one by default) and the kiosk's login.
    pub mqtt: MqttEndpoint,
    pub fullscreen: bool,
}

/// The kiosk's login at the hub: its enrolled device's username and password, sent as HTTP
/// Basic (the same account it logs into MQTT with).
#[derive(Debug, Clone)]
pub struct HubLogin {
    pub username: String,
    pub password: Password,
}

impl HubLogin {
    /// The login of an MQTT endpoint, when it has a password (the kiosk's settings or, next to the
    /// demo hub, its entry in `data/demo-devices.toml`).
    pub fn of(endpoint: &MqttEndpoint) -> Option<HubLogin> {
        Some(HubLogin { username: endpoint.username.clone()?, password: endpoint.password.clone()? })
    }

    /// Adds the login to a request.
    pub fn sign(login: Option<&HubLogin>, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match login {
            Some(login) => request.basic_auth(&login.username, Some(login.password.expose())),
            None => request,
        }
    }
}

/// Posts `body` to the hub as `login`; retries (with the same body, so the same request id)
/// while the hub does not answer, for a few seconds. A lost answer never makes a second ticket.
async fn post<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    login: Option<&HubLogin>,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<T, Refusal> {
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let Ok(response) = HubLogin::sign(login, client.post(url)).json(body).send().await else { continue };
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|_| Refusal::Unreachable);
        }
        if status.is_client_error() {
            let error = response.json::<ApiError>().await.unwrap_or_else(|_| ApiError::new("refused", ""));
            return Err(Refusal::Refused { error: error.error, message: error.message });
        }
    }
    Err(Refusal::Unreachable)
}

/// A reqwest client builder, after making rustls's ring provider the process default (the
/// workspace's reqwest has no provider of its own; see `dawr_protocol::endpoint::use_ring_provider`).
pub fn http_client() -> reqwest::ClientBuilder {
    dawr_protocol::endpoint::use_ring_provider();
    reqwest::Client::builder()
}

/// One line per ticket the hub gave (or refused), for whoever looks after the kiosk.
fn log_issued(issued: &Result<Box<Ticket>, Refusal>) {
    match issued {
        Ok(ticket) => tracing::info!(ticket = %ticket.number, service = %ticket.service, "the hub issued a ticket"),
        Err(refusal) => tracing::warn!(?refusal, "the hub gave no ticket"),
    }
}

async fn get<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Option<T> {
    let response = client.get(url).send().await.ok()?;
    response.error_for_status().ok()?.json().await.ok()
}

/// The kiosk's connections: the hub over HTTP, the printer, and its presence over MQTT. It
/// performs the flow's effects; the window does not take part, so tests drive it directly.
#[derive(Clone)]
pub struct Effector {
    client: reqwest::Client,
    hub: String,
    printer: PrinterTarget,
    paper: Paper,
    qr: QrMode,
    /// The branch's name and offset for the printed ticket (from the hub once it answers).
    branch: Arc<Mutex<(Names, FixedOffset)>>,
    /// Whether the hub runs the demo branch (the screen says so).
    demo: Arc<AtomicBool>,
    /// Whether the hub sends SMS (the screen offers the mobile field).
    sms: Arc<AtomicBool>,
    printer_health: watch::Sender<Option<PrinterHealth>>,
    /// The kiosk's enrolled account, for issuing tickets and checking bookings in.
    login: Option<HubLogin>,
}

impl Effector {
    pub fn new(hub: &str, printer: PrinterTarget, paper: Paper) -> Effector {
        Self::with_qr(hub, printer, paper, QrMode::Native)
    }

    /// Like [`Effector::new`], printing the QR code as `qr` says.
    pub fn with_qr(hub: &str, printer: PrinterTarget, paper: Paper, qr: QrMode) -> Effector {
        Effector {
            client: http_client().timeout(Duration::from_secs(5)).build().expect("an HTTP client"),
            hub: hub.trim_end_matches('/').to_string(),
            printer,
            paper,
            qr,
            branch: Arc::new(Mutex::new((
                Names { ar: String::new(), en: String::new() },
                FixedOffset::east_opt(3 * 3600).expect("a valid offset"),
            ))),
            demo: Arc::default(),
            sms: Arc::default(),
            printer_health: watch::channel(None).0,
            login: None,
        }
    }

    /// The same, issuing as the enrolled kiosk `login` (HTTP Basic).
    pub fn with_login(mut self, login: Option<HubLogin>) -> Effector {
        self.login = login;
        self
    }

    /// The printer's health as last seen (for the presence message).
    pub fn printer_health(&self) -> watch::Receiver<Option<PrinterHealth>> {
        self.printer_health.subscribe()
    }

    /// Performs one effect; the input it returns goes back to the flow.
    pub async fn perform(&self, effect: Effect) -> Input {
        let hub = &self.hub;
        match effect {
            Effect::Issue { service, priority, request_id, sms } => {
                let body = IssueTicket { service, priority, appointment_at: None, request_id: Some(request_id), sms };
                let url = format!("{hub}/api/v1/tickets");
                let issued = post::<Box<Ticket>>(&self.client, self.login.as_ref(), &url, &body).await;
                log_issued(&issued);
                Input::Issued(issued)
            }
            Effect::CheckIn { code, request_id } => {
                let body = CheckIn { code, request_id: Some(request_id) };
                let url = format!("{hub}/api/v1/checkins");
                let issued = post::<Box<Ticket>>(&self.client, self.login.as_ref(), &url, &body).await;
                log_issued(&issued);
                Input::Issued(issued)
            }
            Effect::Print(ticket) => {
                let (printer, paper, qr) = (self.printer.clone(), self.paper, self.qr);
                let (name, utc_offset) = self.branch.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let printed = tokio::task::spawn_blocking(move || {
                    let texts = Texts::new();
                    let ctx = TicketContext { branch_name: &name, utc_offset, texts: &texts, qr };
                    print_ticket(&printer, &ctx, paper, &ticket).map_err(|e| (e, ticket.number.clone()))
                })
                .await;
                let health = match printed {
                    Ok(Ok(())) => PrinterHealth::Ok,
                    Ok(Err((e, number))) => {
                        tracing::warn!(error = %e, ticket = %number, "printing failed: showing the e-ticket");
                        e.health()
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the printing task failed");
                        PrinterHealth::Offline
                    }
                };
                let ok = health == PrinterHealth::Ok;
                self.printer_health.send_replace(Some(health));
                Input::Printed(ok)
            }
        }
    }

    /// The hub's services now (`None` while it cannot be reached); learns the branch's name
    /// and time offset the first time the hub answers.
    pub async fn services(&self) -> Option<Vec<ServiceSummary>> {
        let hub = &self.hub;
        let unnamed = self.branch.lock().unwrap_or_else(|e| e.into_inner()).0.en.is_empty();
        if unnamed && let Some(branch) = get::<BranchInfo>(&self.client, &format!("{hub}/api/v1/branch")).await {
            let offset = branch.offset().unwrap_or_else(|| FixedOffset::east_opt(3 * 3600).expect("a valid offset"));
            self.demo.store(branch.demo, Ordering::Relaxed);
            self.sms.store(branch.sms, Ordering::Relaxed);
            *self.branch.lock().unwrap_or_else(|e| e.into_inner()) = (branch.name, offset);
        }
        get::<Vec<ServiceSummary>>(&self.client, &format!("{hub}/api/v1/services")).await
    }

    /// The branch's name, once known.
    pub fn branch_name(&self) -> Names {
        self.branch.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// Whether the hub said it sends SMS.
    pub fn sms(&self) -> bool {
        self.sms.load(Ordering::Relaxed)
    }

    /// Whether the hub said it runs the demo branch.
    pub fn demo(&self) -> bool {
        self.demo.load(Ordering::Relaxed)
    }

    /// The branch's name as the screen shows it: with "demo" when the hub runs the demo.
    pub fn shown_branch_name(&self, texts: &Texts) -> Names {
        crate::screen::branch_label(&self.branch_name(), self.demo(), texts)
    }
}

/// Starts every effect at once on `runtime`, as the kiosk does after each input; each one's
/// answer is handed to `deliver` when it comes (in whatever order they finish). Tests drive the
/// flow through this same function.
pub fn spawn_effects(
    runtime: &tokio::runtime::Handle,
    effector: &Effector,
    effects: Vec<Effect>,
    deliver: impl Fn(Input) + Clone + Send + 'static,
) {
    for effect in effects {
        let (effector, deliver) = (effector.clone(), deliver.clone());
        runtime.spawn(async move {
            let answer = effector.perform(effect).await;
            deliver(answer)
        });
    }
}

/// Announces the kiosk on MQTT (`…/devices/{device}/status`, retained, `offline` as last will)
/// with its printer's health, again whenever that changes; reconnects by itself.
pub async fn announce_presence(
    endpoint: MqttEndpoint,
    branch: String,
    device: String,
    mut printer: watch::Receiver<Option<PrinterHealth>>,
) {
    let topic = Topic::DeviceStatus { branch: &branch, device: &device }.to_string();
    let payload = |printer| {
        serde_json::to_vec(&Presence { printer, ..Presence::new(PresenceStatus::Online) }).expect("serialise")
    };
    let mut options = match endpoint.options(device.clone()) {
        Ok(options) => options,
        Err(e) => {
            tracing::error!(error = %e, "cannot announce the kiosk on MQTT");
            return;
        }
    };
    options.set_keep_alive(Duration::from_secs(10));
    let offline = serde_json::to_vec(&Presence::new(PresenceStatus::Offline)).expect("serialise");
    options.set_last_will(LastWill::new(&topic, offline, QoS::AtLeastOnce, true));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let mut failures = 0u32;
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    failures = 0;
                    let _ = client.try_publish(&topic, QoS::AtLeastOnce, true, payload(*printer.borrow()));
                }
                Ok(_) => {}
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(broker = %endpoint, error = %describe(&e), "MQTT connection failed; retrying");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
            },
            changed = printer.changed() => {
                if changed.is_err() {
                    return;
                }
                let _ = client.try_publish(&topic, QoS::AtLeastOnce, true, payload(*printer.borrow_and_update()));
            }
        }
    }
}

/// Runs the kiosk until its window closes.
pub fn run(config: KioskConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let effector = Effector::with_qr(&config.hub, config.printer.clone(), config.paper, config.qr)
        .with_login(HubLogin::of(&config.mqtt));
    if HubLogin::of(&config.mqtt).is_none() {
        tracing::warn!(
            "no password for the kiosk's account: the hub will refuse its tickets (see --mqtt-password-file)"
        );
    }
    let (inputs, inbox) = mpsc::channel::<Input>();

    // The hub's services every two seconds (`None` while it is away), and the presence.
    {
        let (effector, inputs) = (effector.clone(), inputs.clone());
        runtime.spawn(async move {
            loop {
                let services = effector.services().await;
                let sms = Input::SmsOffered(services.is_some() && effector.sms());
                if inputs.send(Input::Services(services)).is_err() || inputs.send(sms).is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }
    runtime.spawn(announce_presence(
        config.mqtt.clone(),
        config.branch.clone(),
        config.device.clone(),
        effector.printer_health(),
    ));

    dawr_ui::fonts::register_with_slint();
    let window = KioskWindow::new()?;
    window.window().set_fullscreen(config.fullscreen);
    let texts = Texts::new();
    let kiosk = Rc::new(RefCell::new(Kiosk::new(&config.device, Utc::now())));

    // Where the touch targets were last logged (at debug level, when they move: dawr_ui::targets).
    let targets = Rc::new(RefCell::new(Vec::new()));
    // Applies an input on the UI thread, starts its effects, redraws (and logs the touch targets).
    let dispatch: Rc<dyn Fn(Input)> = {
        let (kiosk, weak, handle, effector) =
            (kiosk.clone(), window.as_weak(), runtime.handle().clone(), effector.clone());
        let targets = targets.clone();
        Rc::new(move |input: Input| {
            let effects = kiosk.borrow_mut().handle(input, Utc::now());
            if let Some(window) = weak.upgrade() {
                show(&window, &kiosk.borrow(), &effector.shown_branch_name(&texts), &texts);
                dawr_ui::targets::log_if_changed(&window, &mut targets.borrow_mut());
            }
            let inputs = inputs.clone();
            spawn_effects(&handle, &effector, effects, move |answer| {
                let _ = inputs.send(answer);
            });
        })
    };

    // Touches and keys from the screen.
    let d = dispatch.clone();
    window.on_touched(move || d(Input::Touch));
    let d = dispatch.clone();
    window.on_choose_language(move |lang| d(Input::ChooseLanguage(if lang == "en" { Lang::En } else { Lang::Ar })));
    let d = dispatch.clone();
    window.on_choose_service(move |code| d(Input::ChooseService(code.to_string())));
    let d = dispatch.clone();
    window.on_toggle_assisted(move || d(Input::ToggleAssisted));
    let d = dispatch.clone();
    window.on_toggle_large_text(move || d(Input::ToggleLargeText));
    let d = dispatch.clone();
    window.on_toggle_high_contrast(move || d(Input::ToggleHighContrast));
    let d = dispatch.clone();
    window.on_open_checkin(move || d(Input::OpenCheckIn));
    let d = dispatch.clone();
    window.on_open_mobile(move || d(Input::OpenMobile));
    let d = dispatch.clone();
    window.on_key(move |text| text.chars().for_each(|c| d(Input::Key(c))));
    let d = dispatch.clone();
    window.on_backspace(move || d(Input::Backspace));
    let d = dispatch.clone();
    window.on_enter(move || d(Input::Enter));
    let d = dispatch.clone();
    window.on_back(move || d(Input::Back));

    // Answers from the background, and the clock (for the idle timeout).
    let answers = slint::Timer::default();
    let d = dispatch.clone();
    let weak = window.as_weak();
    answers.start(slint::TimerMode::Repeated, Duration::from_millis(30), move || {
        while let Ok(input) = inbox.try_recv() {
            d(input);
        }
        // Also when the window itself changed size (the layout moved without an input).
        if let Some(window) = weak.upgrade() {
            dawr_ui::targets::log_if_changed(&window, &mut targets.borrow_mut());
        }
    });
    let clock = slint::Timer::default();
    let d = dispatch.clone();
    clock.start(slint::TimerMode::Repeated, Duration::from_secs(1), move || d(Input::Tick));

    dispatch(Input::Tick);
    window.run()?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
