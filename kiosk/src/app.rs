//! The kiosk running: the Slint window on the main thread, the hub and the printer on a small
//! tokio runtime beside it. Every touch, key and answer becomes a [`flow::Input`]; the
//! [`flow::Kiosk`] decides; its effects are performed here and their results come back through
//! a channel that the UI thread drains; the screen is redrawn from the state after each input.
//!
//! [`flow::Input`]: crate::flow::Input
//! [`flow::Kiosk`]: crate::flow::Kiosk
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::{BranchInfo, IssueTicket, Names, ServiceSummary, Ticket};
use slint::ComponentHandle;

use crate::flow::{Effect, Input, Kiosk, Refusal};
use crate::printer::{PrinterTarget, print_ticket};
use crate::screen::{KioskWindow, show};
use crate::ticket::{Paper, TicketContext};

/// How the kiosk reaches the hub and its printer.
#[derive(Debug, Clone)]
pub struct KioskConfig {
    /// The hub's base URL, e.g. `http://127.0.0.1:8080`.
    pub hub: String,
    pub printer: PrinterTarget,
    pub paper: Paper,
    /// Its device id: request ids start with it.
    pub device: String,
    pub fullscreen: bool,
}

/// Posts `body` to the hub; retries (with the same body, so the same request id) while the hub
/// does not answer, for a few seconds. A lost answer never makes a second ticket.
async fn post<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<T, Refusal> {
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let Ok(response) = client.post(url).json(body).send().await else { continue };
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|_| Refusal::Unreachable);
        }
        if status.is_client_error() {
            let error: serde_json::Value = response.json().await.unwrap_or_default();
            return Err(Refusal::Refused {
                error: error["error"].as_str().unwrap_or("refused").to_string(),
                message: error["message"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    Err(Refusal::Unreachable)
}

async fn get<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Option<T> {
    let response = client.get(url).send().await.ok()?;
    response.error_for_status().ok()?.json().await.ok()
}

/// What the UI thread learns from the background.
enum Event {
    Input(Input),
    Branch(BranchInfo),
}

/// Runs the kiosk until its window closes.
pub fn run(config: KioskConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let (events, inbox) = mpsc::channel::<Event>();

    // The hub's branch (once) and services (every two seconds; `None` while it is away).
    {
        let (client, hub, events) = (client.clone(), config.hub.clone(), events.clone());
        runtime.spawn(async move {
            let mut have_branch = false;
            loop {
                if !have_branch && let Some(branch) = get::<BranchInfo>(&client, &format!("{hub}/api/v1/branch")).await
                {
                    have_branch = true;
                    let _ = events.send(Event::Branch(branch));
                }
                let services = get::<Vec<ServiceSummary>>(&client, &format!("{hub}/api/v1/services")).await;
                if events.send(Event::Input(Input::Services(services))).is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }

    dawr_ui::fonts::register_with_slint();
    let window = KioskWindow::new()?;
    window.window().set_fullscreen(config.fullscreen);
    let texts = Rc::new(Texts::new());
    let kiosk = Rc::new(RefCell::new(Kiosk::new(&config.device, Utc::now())));
    let branch_name = Rc::new(RefCell::new(Names { ar: String::new(), en: String::new() }));
    let offset = Rc::new(RefCell::new(chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset")));

    let dispatch: Rc<dyn Fn(Input)> = {
        let (kiosk, texts, branch_name, offset) = (kiosk.clone(), texts.clone(), branch_name.clone(), offset.clone());
        let (weak, handle, config, events) = (window.as_weak(), runtime.handle().clone(), config.clone(), events);
        Rc::new(move |input: Input| {
            let effects = kiosk.borrow_mut().handle(input, Utc::now());
            if let Some(window) = weak.upgrade() {
                show(&window, &kiosk.borrow(), &branch_name.borrow(), &texts);
            }
            for effect in effects {
                let (client, hub, events) = (client.clone(), config.hub.clone(), events.clone());
                let reply = move |input| {
                    let _ = events.send(Event::Input(input));
                };
                match effect {
                    Effect::Issue { service, priority, request_id } => {
                        let body =
                            IssueTicket { service, priority, appointment_at: None, request_id: Some(request_id) };
                        let body = serde_json::to_value(body).expect("a ticket request serialises");
                        handle.spawn(async move {
                            reply(Input::Issued(
                                post::<Box<Ticket>>(&client, &format!("{hub}/api/v1/tickets"), &body).await,
                            ));
                        });
                    }
                    Effect::CheckIn { code, request_id } => {
                        let body = serde_json::json!({"code": code, "request_id": request_id});
                        handle.spawn(async move {
                            reply(Input::Issued(
                                post::<Box<Ticket>>(&client, &format!("{hub}/api/v1/checkins"), &body).await,
                            ));
                        });
                    }
                    Effect::Print(ticket) => {
                        let (printer, paper) = (config.printer.clone(), config.paper);
                        let (name, utc_offset) = (branch_name.borrow().clone(), *offset.borrow());
                        handle.spawn_blocking(move || {
                            let texts = Texts::new();
                            let ctx = TicketContext { branch_name: &name, utc_offset, texts: &texts };
                            let result = print_ticket(&printer, &ctx, paper, &ticket);
                            if let Err(e) = &result {
                                tracing::warn!(error = %e, ticket = %ticket.number, "printing failed: showing the e-ticket");
                            }
                            reply(Input::Printed(result.is_ok()));
                        });
                    }
                }
            }
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
    window.on_key(move |text| text.chars().for_each(|c| d(Input::Key(c))));
    let d = dispatch.clone();
    window.on_backspace(move || d(Input::Backspace));
    let d = dispatch.clone();
    window.on_enter(move || d(Input::Enter));
    let d = dispatch.clone();
    window.on_back(move || d(Input::Back));

    // Answers from the background, and the clock (for the idle timeout).
    let inbox_timer = slint::Timer::default();
    let d = dispatch.clone();
    let (weak, texts_for_branch, kiosk_for_branch) = (window.as_weak(), texts.clone(), kiosk.clone());
    inbox_timer.start(slint::TimerMode::Repeated, Duration::from_millis(30), move || {
        while let Ok(event) = inbox.try_recv() {
            match event {
                Event::Input(input) => d(input),
                Event::Branch(branch) => {
                    if let Ok(parsed) =
                        chrono::DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{}", branch.utc_offset))
                    {
                        *offset.borrow_mut() = *parsed.offset();
                    }
                    *branch_name.borrow_mut() = branch.name;
                    if let Some(window) = weak.upgrade() {
                        show(&window, &kiosk_for_branch.borrow(), &branch_name.borrow(), &texts_for_branch);
                    }
                }
            }
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
