//! The counter app against a real hub and broker, without its window: sign-in is checked (wrong
//! PIN, a counter not one's own), every desk action works (next, recall, start, complete with an
//! outcome, no-show, transfer keeping the arrival time, an out-of-order call with its reason,
//! pause and resume), and a raw MQTT "button" on the same counter stays consistent with it. Its
//! screen, drawn headless from the hub, reads right to left in Arabic.
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::Utc;
use dawr_counter_app::app::{CounterConfig, Link, spawn_effects};
use dawr_counter_app::flow::{Desk, Effect, Input};
use dawr_e2e::{Hub, MqttProbe, screenshots_dir};
use dawr_protocol::api::Outcome;
use dawr_protocol::device::{Action, CounterStatus, CurrentStatus};
use serde_json::json;
use tokio::sync::mpsc;

struct App {
    desk: Desk,
    link: Link,
    inbox: mpsc::UnboundedReceiver<Input>,
    inputs: mpsc::UnboundedSender<Input>,
}

impl App {
    async fn start(hub: &Hub, counter: &str) -> Result<App> {
        let config = CounterConfig {
            hub: hub.url(""),
            mqtt: hub.endpoint_as(&hub.device(&format!("counter-{counter}-app"))?),
            branch: "demo".into(),
            counter: counter.into(),
            device: format!("counter-{counter}-app"),
            amber_s: 600,
            red_s: 900,
            fullscreen: false,
        };
        let (inputs, inbox) = mpsc::unbounded_channel();
        let link = Link::start(&config, inputs.clone())?;
        // The desk names the device it logs in as, as the app does: the gate refuses another name.
        let desk = Desk::new(counter, &config.device, Utc::now().timestamp_millis());
        let mut app = App { desk, link, inbox, inputs };
        app.until(|d| d.linked && d.state.is_some()).await?;
        Ok(app)
    }

    /// Feeds an input; its effects start at once, as the app starts them (their answers come
    /// back through the inbox).
    fn input(&mut self, input: Input) {
        let effects: Vec<Effect> = self.desk.handle(input, Utc::now());
        spawn_effects(&tokio::runtime::Handle::current(), &self.link, effects, &self.inputs);
    }

    /// Takes what the hub sends until `done` holds for the desk (or 10 s pass).
    async fn until(&mut self, done: impl Fn(&Desk) -> bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(&self.desk) {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Ok(Some(input)) => self.input(input),
                _ => bail!("the desk never got there: {:#?}", self.desk),
            }
        }
        Ok(())
    }

    /// An action, then the hub's reply and the counter's state as `expected` describes it (the
    /// retained state follows the reply).
    async fn act(&mut self, input: Input, expected: impl Fn(&Desk) -> bool) -> Result<()> {
        self.input(input);
        self.until(|d| !d.busy() && expected(d)).await
    }

    fn current(&self) -> Option<String> {
        current(&self.desk)
    }
}

/// The ticket at the desk's counter, as the hub last said.
fn current(desk: &Desk) -> Option<String> {
    desk.state.as_ref()?.current.as_ref().map(|c| c.ticket.to_string())
}

/// The hub's replies seen on `probe`'s `…/reply` topic up to the first one that names a called
/// ticket (the reply to a `next`): one per command the counter sent before it (the app sends
/// in order on one connection and the hub answers in order, so all of them have come by then).
async fn replies_before_a_call(probe: &mut MqttProbe, topic: &str) -> Result<usize> {
    let mut seen = 0;
    loop {
        let Some(msg) = probe.next_on(topic, Duration::from_secs(10)).await else {
            bail!("no reply naming a ticket on {topic}")
        };
        if msg.json()["ticket"].is_string() {
            return Ok(seen);
        }
        seen += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_works_every_action_and_agrees_with_the_button_on_its_counter() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for service in ["A", "A", "D", "A", "A", "A"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    let mut app = App::start(&hub, "2").await?;

    // Sign-in: a wrong PIN, then the right one.
    app.input(Input::SignIn { staff: "s101".into(), pin: "0000".into() });
    app.until(|d| d.notice.is_some()).await?;
    assert_eq!(app.desk.notice.as_ref().unwrap().key, "counter-wrong-pin");
    app.input(Input::SignIn { staff: "s101".into(), pin: "1111".into() });
    app.until(|d| d.signed_in.is_some()).await?;
    assert_eq!(app.desk.signed_in.as_ref().unwrap().name_en, "Abdullah Alqahtani");

    // next, recall, start, complete with an outcome.
    app.act(Input::Act(Action::Next), |d| current(d).is_some()).await?;
    assert_eq!(app.current().as_deref(), Some("A001"));
    app.act(Input::Act(Action::Recall), |d| {
        d.state.as_ref().and_then(|s| s.current.as_ref()).is_some_and(|c| c.recalls > 0)
    })
    .await?;
    assert_eq!(app.desk.state.as_ref().unwrap().current.as_ref().unwrap().recalls, 1);
    app.act(Input::Act(Action::Start), |d| {
        d.state.as_ref().and_then(|s| s.current.as_ref()).is_some_and(|c| c.status == CurrentStatus::Serving)
    })
    .await?;
    // The visit's CRM case: category and notes, saved with the staff member's session.
    let case_ref = app.desk.case_ref().expect("the current visit's case").to_string();
    app.input(Input::SaveCase {
        category: "power of attorney".into(),
        notes: "brought the deed".into(),
        visitor: "1012345678".into(),
    });
    app.until(|d| d.case_saved.is_some()).await?;
    assert_eq!(app.desk.case_saved, Some("counter-case-saved"));
    let token = app.desk.signed_in.as_ref().unwrap().token.clone();
    let case: serde_json::Value =
        hub.client.get(hub.url(&format!("/api/v1/cases/{case_ref}"))).bearer_auth(&token).send().await?.json().await?;
    assert_eq!(
        (case["category"].as_str(), case["notes"].as_str()),
        (Some("power of attorney"), Some("brought the deed"))
    );
    assert_eq!(case["staff"], "s101", "the case knows who served");
    app.input(Input::Act(Action::Complete));
    app.act(Input::Outcome(Outcome::FollowUp), |d| current(d).is_none()).await?;
    assert_eq!(app.current(), None);
    assert_eq!(app.desk.served, 1);
    let (_, first) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!((first["status"].as_str(), first["outcome"].as_str()), (Some("done"), Some("follow_up")));

    // The button on the same counter calls the next visitor: the app shows it within a moment.
    let mut button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-2")?).await?;
    button.subscribe("dawr/v1/demo/counters/2/reply").await?;
    button.publish("dawr/v1/demo/counters/2/command", r#"{"id":"btn-1","action":"next"}"#).await?;
    app.until(|d| d.state.as_ref().and_then(|s| s.current.as_ref()).is_some_and(|c| c.ticket.as_str() == "A002"))
        .await?;
    // The same visitor again: the app shows their earlier visit once the ID is given, and the
    // staff member's own figures today.
    app.input(Input::SaveCase { category: String::new(), notes: String::new(), visitor: "101 234 5678".into() });
    app.until(|d| d.case.as_ref().is_some_and(|c| !c.earlier.is_empty())).await?;
    let earlier = &app.desk.case.as_ref().unwrap().earlier;
    assert_eq!((earlier[0].0.as_str(), earlier[0].3.as_str()), ("A001", "follow_up"), "{earlier:?}");
    assert_eq!(app.desk.case.as_ref().unwrap().visitor, "1012345678", "stored without spaces");
    app.until(|d| d.figures.is_some_and(|(served, mean)| served == 1 && mean.is_some())).await?;
    // The app's double press answers nothing twice: the hub got one command, one visitor called.
    // Only the hub reads commands; the counter's rating terminal reads the hub's replies to
    // them, one per command.
    let mut replies = MqttProbe::connect(hub.mqtt_port(), &hub.device("rating-2")?).await?;
    let reply_topic = "dawr/v1/demo/counters/2/reply";
    replies.subscribe(reply_topic).await?;
    app.input(Input::Act(Action::NoShow));
    app.input(Input::Act(Action::NoShow));
    app.until(|d| !d.busy()).await?;
    let (_, second) = hub.get("/api/v1/tickets/2").await?;
    assert_eq!(second["status"], "no_show");

    // Transfer keeps the arrival time.
    app.act(Input::Act(Action::Next), |d| current(d).is_some()).await?;
    assert_eq!(replies_before_a_call(&mut replies, reply_topic).await?, 1, "the app sent one no-show");
    let called = app.current().unwrap();
    app.input(Input::Act(Action::Transfer));
    app.act(Input::TransferTo { to: "service:D".into(), note: String::new() }, |d| current(d).is_none()).await?;
    let (_, queue) = hub.get("/api/v1/queue").await?;
    let moved = queue.as_array().unwrap().iter().find(|t| t["number"] == called.as_str()).expect("back in the queue");
    assert_eq!(moved["service"], "D");
    let (_, original) = hub.get(&format!("/api/v1/tickets/{}", moved["id"])).await?;
    assert_eq!(moved["issued_at"], original["issued_at"], "the original arrival time");

    // An out-of-order call, with its reason.
    let (_, waiting) = hub.get("/api/v1/queue?counter=2").await?;
    let last = waiting.as_array().unwrap().last().unwrap()["number"].as_str().unwrap().to_string();
    app.input(Input::Pick(last.clone()));
    app.act(Input::Reason("elderly_or_disabled".into()), |d| current(d).as_ref() == Some(&last)).await?;
    assert_eq!(app.current().as_deref(), Some(last.as_str()), "the chosen ticket is called");

    // Pause (with a reason, once the counter is free) and resume with the same key.
    // Sent on to counter 3 with a note: first in line there.
    app.input(Input::Act(Action::Transfer));
    app.act(Input::TransferTo { to: "counter:3".into(), note: "needs the notary".into() }, |d| current(d).is_none())
        .await?;
    let (_, at_three) = hub.get("/api/v1/queue?counter=3").await?;
    assert_eq!(at_three[0]["number"].as_str(), Some(last.as_str()), "{at_three}");
    app.input(Input::Act(Action::Pause));
    app.act(Input::Reason("prayer".into()), |d| d.state.as_ref().is_some_and(|s| s.status == CounterStatus::Paused))
        .await?;
    assert_eq!(app.desk.state.as_ref().unwrap().status, CounterStatus::Paused);
    button.publish("dawr/v1/demo/counters/2/command", r#"{"id":"btn-2","action":"next"}"#).await?;
    let refused =
        button.next_matching("dawr/v1/demo/counters/2/reply", Duration::from_secs(5), |r| r["id"] == "btn-2").await;
    assert_eq!(refused.expect("a reply").json()["error"], "counter_paused", "the button sees the app's pause");
    app.act(Input::Act(Action::Pause), |d| d.state.as_ref().is_some_and(|s| s.status == CounterStatus::Open)).await?;
    assert_eq!(app.desk.state.as_ref().unwrap().status, CounterStatus::Open);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_cannot_open_a_counter_that_is_not_theirs() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let mut app = App::start(&hub, "5").await?;
    app.input(Input::SignIn { staff: "s101".into(), pin: "1111".into() });
    app.until(|d| d.notice.is_some()).await?;
    assert_eq!(app.desk.notice.as_ref().unwrap().key, "counter-not-assigned");
    assert!(app.desk.signed_in.is_none());
    Ok(())
}

/// The columns in which some pixel of rows `y0..y1` is dark text.
fn inked(image: &image::RgbaImage, y0: u32, y1: u32) -> Vec<u32> {
    (0..image.width()).filter(|&x| (y0..y1).any(|y| image.get_pixel(x, y).0[..3].iter().all(|&c| c < 90))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_screen_reads_right_to_left_in_arabic() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for service in ["A", "D", "A"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    hub.post("/api/v1/counters/2/next", json!({})).await?;
    let mut shots = Vec::new();
    for lang in ["ar", "en"] {
        let out = screenshots_dir().join(format!("counter-app-{lang}.png"));
        let status = std::process::Command::new(dawr_e2e::counter_binary())
            .args(["screenshot", "--lang", lang, "--counter", "2", "--hub", &hub.url("")])
            .arg("--out")
            .arg(&out)
            .status()?;
        assert!(status.success());
        shots.push(image::open(&out)?.to_rgba8());
    }
    let (ar, en) = (&shots[0], &shots[1]);
    assert_eq!(ar.dimensions(), (1366, 768));
    // The big current ticket (rows 160..250): on the right half in Arabic, the left in English.
    let (ar_ink, en_ink) = (inked(ar, 160, 250), inked(en, 160, 250));
    assert!(ar_ink.len() > 100 && en_ink.len() > 100, "the ticket is drawn");
    let en_left = en_ink.iter().filter(|&&x| x < 683).count();
    assert!(en_left > en_ink.len() / 2, "English: the current visitor on the left");
    let ar_right = ar_ink.iter().filter(|&&x| x > 683).count();
    assert!(ar_right > ar_ink.len() / 2, "Arabic: the current visitor on the right");
    Ok(())
}
