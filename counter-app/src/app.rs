//! The counter app running: the Slint window on the main thread, and its connections on a small
//! tokio runtime beside it — MQTT for the counter's commands, replies and retained state (the
//! same topics as the counter's button), HTTP for signing in and the waiting list. Every click,
//! key and answer becomes a [`flow::Input`]; the [`flow::Desk`] decides; the effects are
//! performed by the [`Link`], whose answers come back through a channel the UI thread drains.
//!
//! [`flow::Input`]: crate::flow::Input
//! [`flow::Desk`]: crate::flow::Desk
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::cases::{CaseDetail, CaseUpdate, EarlierVisit};
use dawr_protocol::api::sessions::{Session, SignIn};
use dawr_protocol::api::staff::StaffToday;
use dawr_protocol::api::{ApiError, BranchInfo, Names, Outcome, Ticket};
use dawr_protocol::device::{Action, CounterState, Presence, PresenceStatus, Reply};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint, describe};
use dawr_protocol::topics::Topic;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use slint::ComponentHandle;
use tokio::sync::mpsc;

use crate::flow::{CaseInfo, Desk, Effect, Input, SignedIn};
use crate::screen::{Branch, CounterWindow, show};

/// Where the app works and how it reaches the hub.
#[derive(Debug, Clone)]
pub struct CounterConfig {
    pub hub: String,
    /// The branch's MQTT broker and the app's login.
    pub mqtt: MqttEndpoint,
    pub branch: String,
    pub counter: String,
    /// Its device id (MQTT client id, presence, command ids).
    pub device: String,
    pub amber_s: i64,
    pub red_s: i64,
    pub fullscreen: bool,
}

/// The app's connections to the hub.
#[derive(Clone)]
pub struct Link {
    client: reqwest::Client,
    mqtt: AsyncClient,
    hub: String,
    command_topic: String,
    counter: String,
}

impl Link {
    /// Connects (and keeps reconnecting) to the broker, subscribed to the counter's state and
    /// replies; what arrives, and the link going up or down, goes to `inputs`.
    pub fn start(config: &CounterConfig, inputs: mpsc::UnboundedSender<Input>) -> Result<Link, EndpointError> {
        let branch = config.branch.as_str();
        let counter = config.counter.as_str();
        let state_topic = Topic::CounterState { branch, counter }.to_string();
        let reply_topic = Topic::CounterReply { branch, counter }.to_string();
        let status_topic = Topic::DeviceStatus { branch, device: &config.device }.to_string();
        let mut options = config.mqtt.options(config.device.clone())?;
        let broker = config.mqtt.display_url();
        options.set_keep_alive(Duration::from_secs(5));
        let offline = serde_json::to_vec(&Presence::new(PresenceStatus::Offline)).expect("serialise");
        options.set_last_will(LastWill::new(&status_topic, offline, QoS::AtLeastOnce, true));
        let (mqtt, mut eventloop) = AsyncClient::new(options, 32);
        let client = mqtt.clone();
        tokio::spawn(async move {
            let online = serde_json::to_vec(&Presence::new(PresenceStatus::Online)).expect("serialise");
            let mut up = false;
            let mut failures = 0u32;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        failures = 0;
                        for topic in [&state_topic, &reply_topic] {
                            let _ = client.try_subscribe(topic.as_str(), QoS::AtLeastOnce);
                        }
                        let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, online.clone());
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) if !up => {
                        up = true;
                        let _ = inputs.send(Input::Link(true));
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let input = if p.topic == state_topic {
                            serde_json::from_slice::<CounterState>(&p.payload).ok().map(Input::State)
                        } else if p.topic == reply_topic {
                            serde_json::from_slice::<Reply>(&p.payload).ok().map(Input::Reply)
                        } else {
                            None
                        };
                        match input {
                            Some(input) => {
                                if inputs.send(input).is_err() {
                                    return;
                                }
                            }
                            None => tracing::warn!(topic = %p.topic, "ignored an unreadable message"),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failures += 1;
                        if !up && (failures == 1 || failures.is_power_of_two()) {
                            tracing::warn!(%broker, error = %describe(&e), "MQTT connection failed; retrying");
                        }
                        if up {
                            tracing::warn!(%broker, error = %describe(&e), "lost the broker; retrying");
                            up = false;
                            if inputs.send(Input::Link(false)).is_err() {
                                return;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Ok(Link {
            client: http_client().timeout(Duration::from_secs(5)).build().expect("an HTTP client"),
            mqtt,
            hub: config.hub.trim_end_matches('/').to_string(),
            command_topic: Topic::CounterCommand { branch, counter }.to_string(),
            counter: config.counter.clone(),
        })
    }

    /// Performs one effect; a sign-in's answer comes back at once, a command's on `…/reply`.
    pub async fn perform(&self, effect: Effect) -> Option<Input> {
        match effect {
            Effect::SignIn { staff, pin, counter } => {
                let body = SignIn { staff, pin, counter: Some(counter) };
                Some(Input::SignedIn(match self.sign_in(&body).await {
                    Ok(Ok(session)) => Ok(SignedIn {
                        token: session.token,
                        staff: session.staff,
                        name_ar: session.name.ar,
                        name_en: session.name.en,
                        counter: self.counter.clone(),
                        services: session.services,
                    }),
                    Ok(Err(refusal)) => Err((refusal.error, refusal.message)),
                    Err(e) => Err(("unreachable".to_string(), e.to_string())),
                }))
            }
            Effect::SignOut { token } => {
                let _ = self.client.delete(format!("{}/api/v1/sessions", self.hub)).bearer_auth(token).send().await;
                None
            }
            Effect::SaveCase { token, case_ref, category, notes, visitor } => {
                let body =
                    CaseUpdate { category: Some(category), notes: Some(notes), visitor: Some(visitor), close: false };
                let saved = self
                    .client
                    .patch(format!("{}/api/v1/cases/{case_ref}", self.hub))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                Some(Input::CaseSaved(match saved {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) => Err(format!("the hub answered {}", response.status())),
                    Err(e) => Err(e.to_string()),
                }))
            }
            Effect::LoadCase { token, case_ref } => {
                let detail: CaseDetail = self.get(&format!("/api/v1/cases/{case_ref}"), Some(&token)).await?;
                Some(Input::CaseLoaded { case_ref, case: case_info(detail) })
            }
            Effect::LoadFigures { token } => {
                let figures: StaffToday = self.get("/api/v1/staff/today", Some(&token)).await?;
                Some(Input::Figures { served: figures.served, mean_service_s: figures.mean_service_s })
            }
            Effect::Send(command) => {
                let payload = serde_json::to_vec(&*command).expect("a command serialises");
                if let Err(e) = self.mqtt.publish(&self.command_topic, QoS::AtLeastOnce, false, payload).await {
                    tracing::warn!(error = %e, "could not queue a command (it is retried)");
                }
                None
            }
        }
    }

    /// Signs in: the session, or the hub's refusal; `Err` when the hub does not answer.
    async fn sign_in(&self, body: &SignIn) -> reqwest::Result<Result<Session, ApiError>> {
        let response = self.client.post(format!("{}/api/v1/sessions", self.hub)).json(body).send().await?;
        if response.status().is_success() {
            return Ok(Ok(response.json().await?));
        }
        Ok(Err(response.json().await.unwrap_or_else(|_| ApiError::new("refused", ""))))
    }

    /// `GET path` on the hub (with a session's `token`), its JSON answer; `None` on any failure.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, token: Option<&str>) -> Option<T> {
        let mut request = self.client.get(format!("{}{path}", self.hub));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.ok()?.error_for_status().ok()?.json().await.ok()
    }

    /// The tickets this counter may call, in the order it would call them.
    pub async fn waiting(&self) -> Option<Vec<Ticket>> {
        self.get(&format!("/api/v1/queue?counter={}", self.counter), None).await
    }

    /// The branch's names and services.
    pub async fn branch(&self, amber_s: i64, red_s: i64) -> Option<Branch> {
        let info: BranchInfo = self.get("/api/v1/branch", None).await?;
        let counter_name = info.counters.iter().find(|c| c.id == self.counter)?.name.clone();
        let utc_offset = info.offset()?;
        let services = info.services.into_iter().map(|s| (s.code, s.name)).collect();
        let counters = info.counters.into_iter().filter(|c| c.id != self.counter).map(|c| (c.id, c.name)).collect();
        Some(Branch { counter_name, services, counters, utc_offset, amber_s, red_s })
    }
}

/// What the counter's case panel shows of a case read from the hub.
fn case_info(detail: CaseDetail) -> CaseInfo {
    let notes = detail.case.notes;
    let earlier = detail.earlier_visits.into_iter().map(|e: EarlierVisit| {
        (e.ticket, e.service, e.issued_at.date_naive().to_string(), e.outcome.unwrap_or_default())
    });
    CaseInfo {
        category: notes.category.unwrap_or_default(),
        notes: notes.notes,
        visitor: notes.visitor.unwrap_or_default(),
        due_at: detail.case.due_at.map(|d| d.to_rfc3339()),
        earlier: earlier.collect(),
    }
}

fn action(name: &str) -> Option<Action> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// Starts every effect at once on `runtime`, as the app does after each input; the answers come
/// back through `inputs` in whatever order they finish. Tests drive the desk through this same
/// function.
pub fn spawn_effects(
    runtime: &tokio::runtime::Handle,
    link: &Link,
    effects: Vec<Effect>,
    inputs: &mpsc::UnboundedSender<Input>,
) {
    for effect in effects {
        let (link, inputs) = (link.clone(), inputs.clone());
        runtime.spawn(async move {
            if let Some(answer) = link.perform(effect).await {
                let _ = inputs.send(answer);
            }
        });
    }
}

/// Runs the counter app until its window closes.
pub fn run(config: CounterConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let (inputs, mut inbox) = mpsc::unbounded_channel::<Input>();
    let link = {
        let _inside = runtime.enter();
        Link::start(&config, inputs.clone())?
    };
    let placeholder = Branch {
        counter_name: Names { ar: config.counter.clone(), en: config.counter.clone() },
        services: Vec::new(),
        counters: Vec::new(),
        utc_offset: chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset"),
        amber_s: config.amber_s,
        red_s: config.red_s,
    };
    let branch = Rc::new(RefCell::new(placeholder));
    let (branch_tx, mut branch_rx) = mpsc::unbounded_channel();
    {
        let (link, inputs, amber_s, red_s) = (link.clone(), inputs.clone(), config.amber_s, config.red_s);
        runtime.spawn(async move {
            let mut known = false;
            loop {
                if !known && let Some(b) = link.branch(amber_s, red_s).await {
                    known = true;
                    let _ = branch_tx.send(b);
                }
                if inputs.send(Input::Waiting(link.waiting().await)).is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }

    dawr_ui::fonts::register_with_slint();
    let window = CounterWindow::new()?;
    window.window().set_fullscreen(config.fullscreen);
    let texts = Rc::new(Texts::new());
    let desk = Rc::new(RefCell::new(Desk::new(&config.counter, &config.device, Utc::now().timestamp())));

    let dispatch: Rc<dyn Fn(Input)> = {
        let (desk, weak, handle, link, texts, branch) =
            (desk.clone(), window.as_weak(), runtime.handle().clone(), link.clone(), texts.clone(), branch.clone());
        let shown_case: RefCell<Option<String>> = RefCell::new(None);
        Rc::new(move |input: Input| {
            match &input {
                Input::SignedIn(Ok(session)) => tracing::info!(staff = %session.staff, "signed in"),
                Input::SignedIn(Err((code, _))) => tracing::warn!(%code, "sign-in refused"),
                Input::Reply(reply) => tracing::info!(id = %reply.id, ok = reply.ok, "the hub answered"),
                _ => {}
            }
            let effects = desk.borrow_mut().handle(input, Utc::now());
            if let Some(window) = weak.upgrade() {
                // The form shows the case as the hub keeps it, once per case it has read.
                let loaded = desk.borrow().case.clone().map(|c| (desk.borrow().case_ref().map(str::to_string), c));
                let key = loaded.as_ref().map(|(r, c)| format!("{r:?}{c:?}"));
                if *shown_case.borrow() != key {
                    let case = loaded.map(|(_, c)| c).unwrap_or_default();
                    window.set_case_category(case.category.as_str().into());
                    window.set_case_notes(case.notes.as_str().into());
                    window.set_case_visitor(case.visitor.as_str().into());
                    *shown_case.borrow_mut() = key;
                }
                show(&window, &desk.borrow(), &branch.borrow(), &texts, Utc::now());
            }
            spawn_effects(&handle, &link, effects, &inputs);
        })
    };

    let d = dispatch.clone();
    window.on_sign_in(move |staff, pin| d(Input::SignIn { staff: staff.to_string(), pin: pin.to_string() }));
    let (d, weak) = (dispatch.clone(), window.as_weak());
    window.on_sign_out(move || {
        if let Some(w) = weak.upgrade() {
            w.set_pin("".into());
        }
        d(Input::SignOut)
    });
    let (d, desk_for_lang) = (dispatch.clone(), desk.clone());
    window.on_switch_language(move || {
        let other = desk_for_lang.borrow().lang.other();
        d(Input::ChooseLanguage(other))
    });
    let d = dispatch.clone();
    window.on_act(move |name| {
        if let Some(action) = action(&name) {
            d(Input::Act(action))
        }
    });
    let d = dispatch.clone();
    window.on_pick(move |ticket| d(Input::Pick(ticket.to_string())));
    let (d, desk_for_answer, weak_for_answer) = (dispatch.clone(), desk.clone(), window.as_weak());
    window.on_answer(move |id| {
        let question = desk_for_answer.borrow().question.clone();
        match question {
            Some(crate::flow::Question::Outcome) => {
                if let Ok(outcome) = serde_json::from_value::<Outcome>(serde_json::Value::String(id.to_string())) {
                    d(Input::Outcome(outcome))
                }
            }
            Some(crate::flow::Question::TransferTo) => {
                let note = weak_for_answer.upgrade().map(|w| w.get_question_text().to_string()).unwrap_or_default();
                if let Some(w) = weak_for_answer.upgrade() {
                    w.set_question_text("".into());
                }
                d(Input::TransferTo { to: id.to_string(), note })
            }
            Some(_) => d(Input::Reason(id.to_string())),
            None => {}
        }
    });
    let d = dispatch.clone();
    window.on_dismiss(move || d(Input::Dismiss));
    let d = dispatch.clone();
    window.on_save_case(move |category, notes, visitor| {
        d(Input::SaveCase { category: category.to_string(), notes: notes.to_string(), visitor: visitor.to_string() })
    });

    // Answers from the background, the branch once known, and the clock (timer, resends).
    let answers = slint::Timer::default();
    let (d, branch_cell) = (dispatch.clone(), branch.clone());
    answers.start(slint::TimerMode::Repeated, Duration::from_millis(30), move || {
        if let Ok(known) = branch_rx.try_recv() {
            *branch_cell.borrow_mut() = known;
            d(Input::Tick);
        }
        while let Ok(input) = inbox.try_recv() {
            d(input);
        }
    });
    let clock = slint::Timer::default();
    let d = dispatch.clone();
    clock.start(slint::TimerMode::Repeated, Duration::from_millis(500), move || d(Input::Tick));

    dispatch(Input::ChooseLanguage(Lang::Ar));
    window.run()?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// A reqwest client builder, after making rustls's ring provider the process default (the
/// workspace's reqwest has no provider of its own; see `dawr_protocol::endpoint::use_ring_provider`).
pub fn http_client() -> reqwest::ClientBuilder {
    dawr_protocol::endpoint::use_ring_provider();
    reqwest::Client::builder()
}
