//! SMS end to end: a hub with `[sms]` sends through the SMSC simulator — test messages (Latin as
//! GSM 7-bit, long Arabic as UCS-2 in two parts) reach it and their receipts mark them
//! delivered; STOP from the mobile ends messages to it; with the SMSC refusing binds messages
//! wait, and after a `kill -9` of the hub with 50 queued every one arrives once the SMSC is back.
//! A walk-in who types a mobile on the kiosk's digit pad is told in the kiosk's language; the
//! mobiles and texts are personal data: exported, erased, and purged after the retention period.
//! Through an HTTPS provider (a sink in the harness) a message is retried after a 5xx and a
//! timeout, and a 4xx fails it with the provider's reason.
//! Joining from a phone (`/join`): the one-time code read from the simulator, the remote ticket
//! held at the front until its holder checks in at the kiosk (told once by SMS), a no-show after
//! the grace time, one live ticket per mobile, the service's share, and the code's limits.
use std::time::Duration;

use dawr_e2e::sms_sink::{Answer, SmsSink};
use dawr_e2e::smsc::{self, Smsc};
use dawr_e2e::{Hub, demo_branch, hub_day, production_branch, wait_until};
use dawr_i18n::Lang;
use dawr_kiosk::app::Effector;
use dawr_kiosk::flow::{Input, Kiosk, Screen};
use dawr_kiosk::ticket::Paper;
use dawr_protocol::api::privacy::{ErasureReport, PersonQuery, PersonalDataExport};
use dawr_protocol::api::reports::SmsFigures;
use dawr_protocol::api::sms::{SmsQueued, SmsStatus};

/// A hub whose branch file sends SMS through `smsc` (short back-offs for the test).
async fn hub_with_sms(smsc: &Smsc, dir: &tempfile::TempDir) -> Hub {
    hub_with_sms_and(smsc, dir, |branch| branch).await
}

/// [`hub_with_sms`], its branch file changed by `edit` first.
async fn hub_with_sms_and(smsc: &Smsc, dir: &tempfile::TempDir, edit: impl Fn(String) -> String) -> Hub {
    hub_with_sms_args(smsc, dir, edit, &[]).await
}

/// [`hub_with_sms_and`], with more flags.
async fn hub_with_sms_args(
    smsc: &Smsc,
    dir: &tempfile::TempDir,
    edit: impl Fn(String) -> String,
    args: &[&str],
) -> Hub {
    let file = dir.path().join("branch.toml");
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nsender = \"Dawr\"\n\
         messages_per_second = 200\nmax_backoff_s = 0.5\nmax_reconnect_s = 0.3\nenquire_link_s = 1\n",
        smsc.address(),
        smsc::SYSTEM_ID,
        smsc::PASSWORD
    );
    std::fs::write(&file, edit(production_branch(&demo_branch())) + &sms).unwrap();
    let mut flags = vec!["--config", file.to_str().unwrap()];
    flags.extend_from_slice(args);
    Hub::start_embedded_with(&flags).await.unwrap()
}

async fn manager(hub: &Hub) -> String {
    hub.sign_in("m001", None).await.unwrap().token
}

async fn send(hub: &Hub, token: &str, to: &str, text: &str) -> (u16, serde_json::Value) {
    hub.post_as("/api/v1/sms/messages", serde_json::json!({ "to": to, "text": text }), Some(token)).await.unwrap()
}

async fn status(hub: &Hub, token: &str) -> SmsStatus {
    let response = dawr_e2e::http_client()
        .build()
        .unwrap()
        .get(hub.url("/api/v1/sms/messages?limit=500"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

const LONG_ARABIC: &str =
    "تذكير: دورك قريب في فرع العدل. الرجاء الحضور إلى الفرع والتسجيل في الجهاز عند الوصول خلال عشر دقائق.";

#[tokio::test]
async fn messages_arrive_whole_are_marked_delivered_and_stop_is_honoured() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with_sms(&smsc, &dir).await;
    let token = manager(&hub).await;

    let (code, body) = send(&hub, &token, "0501234567", "Your turn is near: A012").await;
    assert_eq!(code, 202, "{body}");
    let queued: SmsQueued = serde_json::from_value(body).unwrap();
    assert_eq!(queued.mobile, "+966501234567");
    assert_eq!(send(&hub, &token, "+966 50 123 4567", LONG_ARABIC).await.0, 202);

    let got = smsc.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].to.as_str(), got[0].from.as_str()), ("966501234567", "Dawr"));
    assert_eq!((got[0].text.as_str(), got[0].coding, got[0].parts), ("Your turn is near: A012", 0, 1));
    assert_eq!(got[1].text, LONG_ARABIC, "Arabic arrives intact");
    assert_eq!((got[1].coding, got[1].parts), (8, 2), "as UCS-2 in two parts");

    let delivered = wait_until(Duration::from_secs(10), || async { status(&hub, &token).await.delivered == 2 }).await;
    let now = status(&hub, &token).await;
    assert!(delivered, "both marked delivered by their receipts: {now:?}");
    assert!(now.enabled);
    assert_eq!(now.messages[0].parts, Some(2));
    assert_eq!(now.messages[0].message_id, "demo-sms2");

    // Bad requests are clear errors.
    let (code, body) = send(&hub, &token, "0401234567", "x").await;
    assert_eq!((code, body["error"].as_str()), (400, Some("malformed")), "{body}");
    let (code, _) = hub
        .post_as("/api/v1/sms/messages", serde_json::json!({ "to": "0501234567", "text": "x" }), None)
        .await
        .unwrap();
    assert_eq!(code, 401, "managers only");

    // STOP from the mobile: no more messages to it.
    assert!(smsc.send_mo("966501234567", "STOP"));
    assert!(wait_until(Duration::from_secs(10), || async { status(&hub, &token).await.opted_out == 1 }).await);
    let (code, body) = send(&hub, &token, "0501234567", "anything").await;
    assert_eq!((code, body["error"].as_str()), (409, Some("opted_out")), "{body}");
    // إلغاء works the same for another mobile.
    assert!(smsc.send_mo("966507654321", "إلغاء"));
    assert!(wait_until(Duration::from_secs(10), || async { status(&hub, &token).await.opted_out == 2 }).await);
    assert_eq!(smsc.messages().len(), 2, "nothing more was sent");
}

#[tokio::test]
async fn with_the_smsc_down_and_the_hub_killed_every_queued_message_arrives_once_in_order() {
    let smsc = Smsc::start();
    smsc.refuse_binds(true);
    let dir = tempfile::tempdir().unwrap();
    let mut hub = hub_with_sms(&smsc, &dir).await;
    let token = manager(&hub).await;
    // 50 messages: 10 mobiles, 5 each, to be received in each mobile's order.
    for n in 0..50 {
        let to = format!("05000000{:02}", n % 10);
        let (code, body) = send(&hub, &token, &to, &format!("message {n}")).await;
        assert_eq!(code, 202, "{body}");
    }
    let tried = wait_until(Duration::from_secs(10), || async {
        status(&hub, &token).await.messages.iter().any(|m| m.attempts > 0 && m.last_error.is_some())
    })
    .await;
    assert!(tried, "the hub tried and saw the bind refused");
    let s = status(&hub, &token).await;
    assert_eq!(s.queued, 50, "nothing is lost or given up while the SMSC is down: {s:?}");

    hub.kill9();
    hub.restart().await.unwrap();
    smsc.refuse_binds(false);
    let got = smsc.wait_for(50, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 50, "every queued message arrives after the restart");
    let mut texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 50, "each once");
    for mobile in 0..10 {
        let to = format!("96650000000{mobile}");
        let order: Vec<String> = smsc.messages_to(&to).into_iter().map(|m| m.text).collect();
        let expected: Vec<String> = (0..5).map(|k| format!("message {}", mobile + 10 * k)).collect();
        assert_eq!(order, expected, "{to} gets its messages in order");
    }
    let token = manager(&hub).await;
    assert!(wait_until(Duration::from_secs(10), || async { status(&hub, &token).await.delivered == 50 }).await);

    // The SMSC drops the connection: the hub binds again and goes on.
    let binds = smsc.binds();
    smsc.drop_connections();
    assert_eq!(send(&hub, &token, "0500000099", "after the drop").await.0, 202);
    let got = smsc.wait_for(51, Duration::from_secs(20)).await;
    assert_eq!(got.last().map(|m| m.text.as_str()), Some("after the drop"));
    assert!(smsc.binds() > binds, "bound again");
}

#[tokio::test]
async fn a_ticket_holder_is_told_once_when_three_are_ahead_and_once_when_called_in_their_language() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with_sms(&smsc, &dir).await;
    let mut tickets = Vec::new();
    for _ in 0..5 {
        let (code, ticket) = hub.post("/api/v1/tickets", serde_json::json!({ "service": "A" })).await.unwrap();
        assert_eq!(code, 201, "{ticket}");
        tickets.push(ticket);
    }
    let subscribe = |ticket: &serde_json::Value, mobile: &str, lang: &str| {
        let body = serde_json::json!({ "token": ticket["token"], "mobile": mobile, "lang": lang });
        let hub = &hub;
        async move { hub.post_as("/api/v1/sms/subscriptions", body, None).await.unwrap() }
    };
    let (code, body) = subscribe(&tickets[4], "0501111111", "en").await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["number"], "A005");
    assert_eq!(subscribe(&tickets[3], "0502222222", "ar").await.0, 201);
    let (code, body) = subscribe(&serde_json::json!({ "token": "nope" }), "0502222222", "ar").await;
    assert_eq!((code, body["error"].as_str()), (404, Some("unknown_ticket")));
    let (code, body) = subscribe(&tickets[0], "12345", "ar").await;
    assert_eq!((code, body["field"].as_str()), (400, Some("mobile")), "{body}");
    // One mobile for at most three tickets a day.
    let (_, sixth) = hub.post("/api/v1/tickets", serde_json::json!({ "service": "B" })).await.unwrap();
    for ticket in &tickets[..3] {
        assert_eq!(subscribe(ticket, "0503333333", "en").await.0, 201);
    }
    let (code, body) = subscribe(&sixth, "0503333333", "en").await;
    assert_eq!((code, body["error"].as_str()), (429, Some("too_many_subscriptions")), "{body}");

    let (a, b) = ("966501111111", "966502222222");
    let arrived = |to: &'static str, n: usize| {
        let smsc = &smsc;
        async move { wait_until(Duration::from_secs(15), || async { smsc.messages_to(to).len() >= n }).await }
    };
    // A004 has three ahead at once: told in Arabic.
    assert!(arrived(b, 1).await);
    assert!(smsc.messages_to(b)[0].text.contains("A004") && smsc.messages_to(b)[0].text.contains("المراجعين"));
    assert!(smsc.messages_to(a).is_empty(), "A005 has four ahead: not yet");

    let call_next = || async {
        let (code, reply) = hub.post("/api/v1/counters/2/next", serde_json::json!({})).await.unwrap();
        assert_eq!(code, 200, "{reply}");
        reply["ticket"].as_str().unwrap_or_default().to_string()
    };
    let no_show = || async { hub.post("/api/v1/counters/2/no_show", serde_json::json!({})).await.unwrap().0 };
    assert_eq!(call_next().await, "A001");
    assert_eq!(no_show().await, 200);
    assert!(arrived(a, 1).await, "A005 now has three ahead");
    assert_eq!(
        smsc.messages_to(a)[0].text,
        "Dawr: 3 visitors are ahead of ticket A005. Please come near the counters."
    );
    assert_eq!(smsc.messages_to(a)[0].coding, 0, "English goes as GSM 7-bit");
    for expected in ["A002", "A003"] {
        assert_eq!(call_next().await, expected);
        assert_eq!(no_show().await, 200);
    }
    assert_eq!(call_next().await, "A004");
    assert!(arrived(b, 2).await, "A004 was called");
    assert_eq!(smsc.messages_to(b)[1].text, "دور: التذكرة A004، تفضل إلى الشباك 2 الآن.");
    assert_eq!(no_show().await, 200);
    assert_eq!(call_next().await, "A005");
    assert!(arrived(a, 2).await);
    assert_eq!(smsc.messages_to(a)[1].text, "Dawr: ticket A005, please go to counter 2 now.");
    assert_eq!(smsc.messages_to(a).len(), 2, "near once, called once");
    assert_eq!(smsc.messages_to(b).len(), 2, "near once, called once");
}

/// Feeds `input` to the kiosk and performs its effects (and theirs) to the end, as the kiosk does.
async fn drive(kiosk: &mut Kiosk, effector: &Effector, input: Input) {
    let mut effects = kiosk.handle(input, chrono::Utc::now());
    while let Some(effect) = effects.pop() {
        let answer = effector.perform(effect).await;
        effects.extend(kiosk.handle(answer, chrono::Utc::now()));
    }
}

#[tokio::test]
async fn a_walk_in_who_gives_a_mobile_at_the_kiosk_is_told_in_the_kiosks_language() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = hub_with_sms(&smsc, &dir).await;
    let (_, branch) = hub.get("/api/v1/branch").await.unwrap();
    assert_eq!(branch["sms"], true, "the hub says it sends SMS: {branch}");

    // A mobile that is not Saudi is refused before any ticket is issued.
    let bad = serde_json::json!({ "service": "A", "sms": { "mobile": "12345", "lang": "en" } });
    let (code, body) = hub.post("/api/v1/tickets", bad).await.unwrap();
    assert_eq!((code, body["field"].as_str()), (400, Some("sms.mobile")), "{body}");
    let bad = serde_json::json!({ "service": "A", "sms": { "mobile": "0501111111", "lang": "fr" } });
    assert_eq!(hub.post("/api/v1/tickets", bad).await.unwrap().0, 400);
    assert_eq!(hub.get("/api/v1/queue").await.unwrap().1.as_array().map(Vec::len), Some(0), "no ticket");

    // The kiosk, as the visitor taps it: English, the digit pad, a service.
    let (kiosk_account, _) = hub.device_account("kiosk-1", "kiosk", None).unwrap();
    let login = dawr_kiosk::app::HubLogin::of(&hub.endpoint_as(&kiosk_account));
    let nobody = format!("tcp:127.0.0.1:{}", dawr_e2e::free_port());
    let effector = Effector::new(&hub.url(""), nobody.parse().unwrap(), Paper::Mm80).with_login(login);
    let mut kiosk = Kiosk::new("kiosk-1", chrono::Utc::now());
    let services = effector.services().await;
    drive(&mut kiosk, &effector, Input::Services(services)).await;
    drive(&mut kiosk, &effector, Input::SmsOffered(effector.sms())).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::En)).await;
    drive(&mut kiosk, &effector, Input::OpenMobile).await;
    assert_eq!(kiosk.screen, Screen::Mobile, "the hub sends SMS, so the kiosk offers the mobile");
    for c in "0501111111".chars() {
        drive(&mut kiosk, &effector, Input::Key(c)).await;
        tokio::time::sleep(Duration::from_millis(80)).await; // typed by a person, not a scanner
    }
    drive(&mut kiosk, &effector, Input::Enter).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    let ticket = kiosk.ticket.clone().expect("a ticket");
    assert_eq!((kiosk.screen, ticket.number.as_str()), (Screen::Ticket, "A001"));
    assert_eq!(kiosk.ticket_sms.as_deref(), Some("+966501111111"));

    // Nobody is ahead of it: told at once, in English; then called.
    let to = "966501111111";
    assert!(wait_until(Duration::from_secs(15), || async { !smsc.messages_to(to).is_empty() }).await);
    assert_eq!(
        smsc.messages_to(to)[0].text,
        "Dawr: 0 visitors are ahead of ticket A001. Please come near the counters."
    );
    let (code, _) = hub.post("/api/v1/counters/2/next", serde_json::json!({})).await.unwrap();
    assert_eq!(code, 200);
    assert!(wait_until(Duration::from_secs(15), || async { smsc.messages_to(to).len() == 2 }).await);
    assert_eq!(smsc.messages_to(to)[1].text, "Dawr: ticket A001, please go to counter 2 now.");

    // The next visitor, in Arabic, gives no mobile: nothing more is sent.
    drive(&mut kiosk, &effector, Input::Back).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    assert_eq!(kiosk.ticket.as_ref().map(|t| t.number.as_str()), Some("A002"));
    assert_eq!(kiosk.ticket_sms, None);
    let token = manager(&hub).await;
    assert_eq!(status(&hub, &token).await.messages.len(), 2, "only the mobile's two messages");
}

async fn person(hub: &Hub, token: &str, route: &str, who: &str) -> (u16, String) {
    let response = dawr_e2e::http_client()
        .build()
        .unwrap()
        .post(hub.url(&format!("/api/v1/personal-data/{route}")))
        .bearer_auth(token)
        .json(&PersonQuery { person: who.into() })
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn mobiles_and_texts_are_exported_erased_and_purged_after_the_retention_period() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    let mut hub = hub_with_sms(&smsc, &dir).await;
    let token = manager(&hub).await;
    for text in ["first for A", "second for A"] {
        assert_eq!(send(&hub, &token, "0501111111", text).await.0, 202);
    }
    assert_eq!(send(&hub, &token, "0502222222", "only for B").await.0, 202);
    let (_, ticket) = hub.post("/api/v1/tickets", serde_json::json!({ "service": "A" })).await.unwrap();
    let subscribe = serde_json::json!({ "token": ticket["token"], "mobile": "0501111111", "lang": "en" });
    assert_eq!(hub.post_as("/api/v1/sms/subscriptions", subscribe, None).await.unwrap().0, 201);
    // Delivered: the two tests, B's, and A001's "near".
    assert!(wait_until(Duration::from_secs(20), || async { status(&hub, &token).await.delivered == 4 }).await);
    assert!(smsc.send_mo("966502222222", "STOP"));
    assert!(wait_until(Duration::from_secs(10), || async { status(&hub, &token).await.opted_out == 1 }).await);

    // The export of a mobile: its messages with their texts, its ticket; of B: its STOP too.
    let (code, body) = person(&hub, &token, "export", "+966 50 111 1111").await;
    assert_eq!(code, 200, "{body}");
    let exported: PersonalDataExport = serde_json::from_str(&body).unwrap();
    let texts: Vec<&str> = exported.sms.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts[..2], ["first for A", "second for A"]);
    assert_eq!(texts.len(), 3, "and the near message: {texts:?}");
    assert_eq!(exported.sms.tickets.iter().map(|t| t.number.as_str()).collect::<Vec<_>>(), ["A001"]);
    let (_, body) = person(&hub, &token, "export", "0502222222").await;
    let b: PersonalDataExport = serde_json::from_str(&body).unwrap();
    assert_eq!(b.sms.messages.len(), 1);
    assert!(b.sms.opted_out_at.is_some());

    // B's erasure: its mobile and text are gone; its STOP stays honoured.
    let (code, body) = person(&hub, &token, "erase", "0502222222").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<ErasureReport>(&body).unwrap().sms_messages, 1);
    let (_, body) = person(&hub, &token, "export", "0502222222").await;
    let b: PersonalDataExport = serde_json::from_str(&body).unwrap();
    assert!(b.sms.messages.is_empty() && b.sms.opted_out_at.is_some(), "{b:?}");
    assert_eq!(send(&hub, &token, "0502222222", "again").await.0, 409, "still opted out");
    let now = status(&hub, &token).await;
    assert_eq!(now.messages.iter().filter(|m| m.mobile.is_empty()).count(), 1, "B's row stays, blank");

    // Joining from a phone: A's remote ticket and the code sent to join are A's data too; C's
    // are erased at once.
    join(&hub, &smsc, "D", "0501111111").await;
    join(&hub, &smsc, "A", "0503333333").await;
    let (_, body) = person(&hub, &token, "export", "0501111111").await;
    let a: PersonalDataExport = serde_json::from_str(&body).unwrap();
    assert_eq!(a.sms.remote_tickets.iter().map(|t| t.number.as_str()).collect::<Vec<_>>(), ["D001"], "{a:?}");
    assert_eq!(a.sms.join_codes_sent_at.len(), 1, "{a:?}");
    let (code, body) = person(&hub, &token, "erase", "0503333333").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<ErasureReport>(&body).unwrap().remote_joins, 2, "its ticket and its code");
    let (_, body) = person(&hub, &token, "export", "0503333333").await;
    let c: PersonalDataExport = serde_json::from_str(&body).unwrap();
    assert!(c.sms.remote_tickets.is_empty() && c.sms.join_codes_sent_at.is_empty(), "{c:?}");
    assert!(wait_until(Duration::from_secs(20), || async { status(&hub, &token).await.queued == 0 }).await);
    let settled = status(&hub, &token).await;

    // 91 days later the hub purges at start: A's mobile and texts are gone, the rows stay; so
    // are its remote ticket's mobile and its join code.
    hub.restart_with(&["--clock-offset-s", &(91 * 86_400).to_string()]).await.unwrap();
    let token = manager(&hub).await;
    let (_, body) = person(&hub, &token, "export", "0501111111").await;
    let a: PersonalDataExport = serde_json::from_str(&body).unwrap();
    assert!(a.sms.messages.is_empty() && a.sms.tickets.is_empty(), "{a:?}");
    assert!(a.sms.remote_tickets.is_empty() && a.sms.join_codes_sent_at.is_empty(), "{a:?}");
    let now = status(&hub, &token).await;
    assert_eq!(now.messages.len(), settled.messages.len());
    assert!(now.messages.iter().all(|m| m.mobile.is_empty()), "{now:?}");
    assert_eq!(now.delivered, settled.delivered, "the delivery states stay for the counts");
}

#[tokio::test]
async fn an_https_provider_gets_each_message_retried_after_5xx_and_timeouts_and_a_4xx_fails_it() {
    let sink = SmsSink::start();
    // The first message meets a 503, then a timeout, then goes.
    sink.script(&[Answer::Status(503), Answer::Hang(Duration::from_secs(6))]);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("provider.key");
    std::fs::write(&key, "sk-test-123\n").unwrap();
    let sms = format!(
        "\n[sms]\nhttps_url = \"{}\"\nhttps_body = '{{\"to\":\"{{{{to}}}}\",\"text\":\"{{{{text}}}}\",\"ref\":\"{{{{message_id}}}}\",\"from\":\"{{{{sender}}}}\"}}'\n\
         https_key_file = \"{}\"\nhttps_id_field = \"id\"\nhttps_timeout_s = 0.5\nsender = \"Dawr\"\n\
         messages_per_second = 200\nmax_backoff_s = 0.3\nprice_per_part = 0.05\n",
        sink.url(),
        key.display()
    );
    let file = dir.path().join("branch.toml");
    std::fs::write(&file, production_branch(&demo_branch()) + &sms).unwrap();
    let hub = Hub::start_embedded_with(&["--config", file.to_str().unwrap()]).await.unwrap();
    let token = manager(&hub).await;

    assert_eq!(send(&hub, &token, "0501234567", "Your turn is near: A012").await.0, 202);
    assert!(wait_until(Duration::from_secs(20), || async { status(&hub, &token).await.submitted == 1 }).await);
    let posted = sink.posted();
    assert_eq!(posted.iter().map(|p| p.status).collect::<Vec<_>>(), [503, 504, 200], "a 503, a timeout, then taken");
    let body = &posted[2].body;
    assert_eq!(
        (body["to"].as_str(), body["text"].as_str(), body["ref"].as_str(), body["from"].as_str()),
        (Some("966501234567"), Some("Your turn is near: A012"), Some("demo-sms1"), Some("Dawr"))
    );
    assert!(posted.iter().all(|p| p.authorization.as_deref() == Some("Bearer sk-test-123")), "the key from its file");
    let first = status(&hub, &token).await.messages[0].clone();
    assert_eq!((first.attempts, first.parts), (3, Some(1)), "{first:?}");

    // A long Arabic text counts two parts; a refusal (4xx) fails its message at once, with the reason.
    assert_eq!(send(&hub, &token, "0507654321", LONG_ARABIC).await.0, 202);
    assert!(wait_until(Duration::from_secs(20), || async { status(&hub, &token).await.submitted == 2 }).await);
    assert_eq!(sink.posted().last().unwrap().body["text"], LONG_ARABIC);
    assert_eq!(status(&hub, &token).await.messages[0].parts, Some(2));
    sink.script(&[Answer::Status(400)]);
    assert_eq!(send(&hub, &token, "0509999999", "refused").await.0, 202);
    assert!(wait_until(Duration::from_secs(20), || async { status(&hub, &token).await.failed == 1 }).await);
    let refused = status(&hub, &token).await.messages[0].clone();
    let reason = refused.last_error.clone().unwrap_or_default();
    assert!(reason.contains("400") && reason.contains("invalid recipient"), "{refused:?}");
    assert_eq!(refused.attempts, 1, "not retried");
    assert_eq!(sink.posted().iter().filter(|p| p.body["to"] == "966509999999").count(), 1);

    // The monthly report counts what the provider took: 2 test messages in 3 parts, at 0.05 each.
    let today = hub_day(&serde_json::json!({ "issued_at": chrono::Utc::now().to_rfc3339() }));
    let (code, report) = hub.manager_get(&format!("/api/v1/reports/summary?from={today}&to={today}")).await.unwrap();
    assert_eq!(code, 200, "{report}");
    let sms: SmsFigures = serde_json::from_value(report["sms"].clone()).unwrap();
    assert_eq!((sms.price_per_part, sms.currency.as_str()), (0.05, "SAR"));
    let month = &sms.months[0];
    assert_eq!((month.messages, month.parts, month.cost), (2, 3, 0.15), "{sms:?}");
    assert_eq!((month.kinds[0].kind.as_str(), month.kinds[0].parts), ("other", 3));
}

/// The appointments site's clock offset (seconds) that makes its clock read `at` now.
fn offset_to(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:.3}", (at - chrono::Utc::now()).num_milliseconds() as f64 / 1000.0)
}

#[tokio::test]
async fn the_site_reminds_a_day_and_an_hour_before_once_each_and_not_after_a_cancel_or_a_stop() {
    use dawr_e2e::appointments::{Site, citizen_id, example_booking, test_site};
    let smsc = Smsc::start();
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nsender = \"Dawr\"\nmax_backoff_s = 0.5\n",
        smsc.address(),
        smsc::SYSTEM_ID,
        smsc::PASSWORD
    );
    let mut site = Site::start(Some(&(test_site(3, 100) + &sms))).await.unwrap();
    // Three days ahead at 10:00 (+03:00).
    let day = (chrono::Utc::now() + chrono::Duration::hours(3)).date_naive() + chrono::Duration::days(3);
    let start: chrono::DateTime<chrono::Utc> = format!("{day}T07:00:00Z").parse().unwrap();
    let book = |n: u32, phone: &str| {
        let mut body = example_booking(&start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "A", n);
        body["phone"] = phone.into();
        body
    };
    let (code, kept) = site.post("/api/v1/bookings", book(1, "0551111111")).await.unwrap();
    assert_eq!(code, 201, "{kept}");
    let (code, cancelled) = site.post("/api/v1/bookings", book(2, "0552222222")).await.unwrap();
    assert_eq!(code, 201, "{cancelled}");
    let (code, stopping) = site.post("/api/v1/bookings", book(4, "0554444444")).await.unwrap();
    assert_eq!(code, 201, "{stopping}");
    let path = format!("/api/v1/bookings/{}/cancel", cancelled["code"].as_str().unwrap());
    assert_eq!(site.post(&path, serde_json::json!({ "national_id": citizen_id(2) })).await.unwrap().0, 200);

    // A day before: the kept booking's reminder, in English.
    let (kept_to, cancelled_to) = ("966551111111", "966552222222");
    let day_before = start - chrono::Duration::hours(24) + chrono::Duration::seconds(30);
    site.start_again_with(&["--clock-offset-s", &offset_to(day_before)]).await.unwrap();
    let first = wait_until(Duration::from_secs(20), || async { !smsc.messages_to(kept_to).is_empty() }).await;
    assert!(first, "the day's reminder:\n{}", site.log());
    // Restarted only once the site has recorded the submission: a kill between the SMSC's answer
    // and that record sends the text again (the outbox's documented at-least-once edge).
    let recorded = wait_until(Duration::from_secs(20), || async { reminders_submitted(&site) == 2 }).await;
    assert!(recorded, "the day's reminders recorded as submitted:\n{}", site.log());
    let first = smsc.messages_to(kept_to)[0].text.clone();
    assert!(first.starts_with("Dawr: reminder of your appointment for Power of attorney"), "{first}");
    assert!(first.contains("at 10:00") && first.contains(kept["code"].as_str().unwrap()), "{first}");

    // The other holder answers STOP (إلغاء) to their first reminder.
    let stop_to = "966554444444";
    assert!(wait_until(Duration::from_secs(20), || async { !smsc.messages_to(stop_to).is_empty() }).await);
    assert!(smsc.send_mo(stop_to, "إلغاء"), "the site is bound to take it");
    let stopped = wait_until(Duration::from_secs(20), || async { site_opt_outs(&site) == 1 }).await;
    assert!(stopped, "the STOP recorded:\n{}", site.log());

    // An hour before: the kept booking's second, none for the one that answered STOP; then,
    // restarted a minute later, a booking made now gets its hour's reminder (none for the day)
    // while the kept one gets nothing more.
    let hour_before = start - chrono::Duration::minutes(59);
    site.start_again_with(&["--clock-offset-s", &offset_to(hour_before)]).await.unwrap();
    let second = wait_until(Duration::from_secs(20), || async { smsc.messages_to(kept_to).len() == 2 }).await;
    assert!(second, "the hour's reminder: {:?}\n{}", smsc.messages_to(kept_to), site.log());
    let recorded = wait_until(Duration::from_secs(20), || async { reminders_submitted(&site) == 3 }).await;
    assert_eq!(smsc.messages_to(stop_to).len(), 1, "no hour's reminder after the STOP");
    assert!(recorded, "the hour's reminder recorded as submitted:\n{}", site.log());
    assert!(smsc.messages_to(kept_to)[1].text.contains("is at 10:00 today"), "{:?}", smsc.messages_to(kept_to));
    site.start_again_with(&["--clock-offset-s", &offset_to(hour_before + chrono::Duration::minutes(1))]).await.unwrap();
    // Service E: A's three places stay taken, the cancelled one held until a hub pulls the day
    // (none does here).
    let mut late = book(3, "0553333333");
    late["service"] = "E".into();
    let (code, late) = site.post("/api/v1/bookings", late).await.unwrap();
    assert_eq!(code, 201, "{late}");
    assert!(wait_until(Duration::from_secs(20), || async { !smsc.messages_to("966553333333").is_empty() }).await);
    assert_eq!(smsc.messages_to("966553333333").len(), 1, "booked within the day: the hour's only");
    assert_eq!(smsc.messages_to(kept_to).len(), 2, "each reminder once, across restarts");
    assert_eq!(smsc.messages_to(stop_to).len(), 1, "nothing after the STOP");
    assert!(smsc.messages_to(cancelled_to).is_empty(), "none for the cancelled booking");
}

/// How many mobiles answered STOP to the site (read from its database).
fn site_opt_outs(site: &dawr_e2e::appointments::Site) -> i64 {
    let path = site.data_dir.join(dawr_appointments::store::FILE_NAME);
    let count = |conn: rusqlite::Connection| conn.query_row("SELECT count(*) FROM sms_opt_outs", [], |r| r.get(0));
    rusqlite::Connection::open(path).and_then(count).unwrap_or(0)
}

/// How many of the site's reminders its outbox records as submitted (read from its database).
fn reminders_submitted(site: &dawr_e2e::appointments::Site) -> i64 {
    let path = site.data_dir.join(dawr_appointments::store::FILE_NAME);
    let count = |conn: rusqlite::Connection| {
        conn.query_row("SELECT count(*) FROM sms_outbox WHERE state IN ('submitted', 'delivered')", [], |r| r.get(0))
    };
    rusqlite::Connection::open(path).and_then(count).unwrap_or(0)
}

/// A client that does not follow redirects (the join forms answer 303).
fn form_client() -> reqwest::Client {
    dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Posts a form; the status, the `Location` (if any) and the page.
async fn post_form(hub: &Hub, path: &str, body: &str) -> (u16, String, String) {
    let response = form_client()
        .post(hub.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, response.text().await.unwrap().replace(['\u{2068}', '\u{2069}'], ""))
}

async fn get_page(hub: &Hub, path: &str) -> (u16, String) {
    let response = form_client().get(hub.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap().replace(['\u{2068}', '\u{2069}'], ""))
}

/// The six-digit code in an SMS.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    let start = (0..digits.len().saturating_sub(5))
        .find(|&i| digits[i..i + 6].iter().all(char::is_ascii_digit))
        .unwrap_or_else(|| panic!("no code in {text:?}"));
    digits[start..start + 6].iter().collect()
}

/// Asks for a code for `mobile` (national form) and service `service`: the confirmation page.
async fn ask_code(hub: &Hub, service: &str, mobile: &str) -> (u16, String, String) {
    post_form(hub, "/join?lang=en", &format!("service={service}&mobile={mobile}")).await
}

/// The newest code the simulator received for `to` (international, no `+`), after `seen` messages.
async fn new_code(smsc: &Smsc, to: &str, seen: usize) -> String {
    assert!(
        wait_until(Duration::from_secs(20), || async { smsc.messages_to(to).len() > seen }).await,
        "a code reaches {to}"
    );
    code_in(&smsc.messages_to(to).last().unwrap().text)
}

/// Joins `service` with `mobile` end to end; the ticket page's path.
async fn join(hub: &Hub, smsc: &Smsc, service: &str, mobile: &str) -> String {
    let to = format!("966{}", &mobile[1..]);
    let seen = smsc.messages_to(&to).len();
    let (status, confirm, page) = ask_code(hub, service, mobile).await;
    assert_eq!(status, 303, "{page}");
    let code = new_code(smsc, &to, seen).await;
    let (status, ticket, page) = post_form(hub, &confirm, &format!("code={code}")).await;
    assert_eq!(status, 303, "{page}");
    assert!(ticket.starts_with("/t/") && ticket.ends_with("?lang=en"), "{ticket}");
    ticket
}

/// The check-in code shown on a remote ticket's page.
fn checkin_code_on(page: &str) -> String {
    let at =
        page.find("id=\"checkin-code\">").expect("the page shows the check-in code") + "id=\"checkin-code\">".len();
    page[at..at + 8].to_string()
}

#[tokio::test]
async fn a_remote_ticket_is_held_at_the_front_until_it_checks_in_and_lapses_after_the_grace_time() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    // A grace time of 3 s.
    let hub = hub_with_sms_and(&smsc, &dir, |b| b.replace("grace_min = 10 ", "grace_min = 0.05 ")).await;

    // The form lists only the services open to remote joining (the demo opens A and D).
    let (status, form) = get_page(&hub, "/join").await;
    assert_eq!(status, 200);
    assert!(form.contains("lang=\"ar\"") && form.contains("value=\"A\"") && form.contains("value=\"D\""));
    assert!(!form.contains("value=\"B\""), "B is closed to it");
    assert!(form.contains("لا أحد في الانتظار"), "the waiting count: {form}");

    // Bad input is a clear page, never a 500.
    let (status, _, page) = ask_code(&hub, "A", "0401234567").await;
    assert_eq!(status, 400);
    assert!(page.contains("Please enter a Saudi mobile number"), "{page}");
    let (status, _, page) = ask_code(&hub, "B", "0501234567").await;
    assert_eq!(status, 409);
    assert!(page.contains("not taking tickets from a phone"), "{page}");

    // Join A: the code from the simulator, one wrong try first.
    let (status, confirm, _) = ask_code(&hub, "A", "0501234567").await;
    assert_eq!(status, 303);
    let code = new_code(&smsc, "966501234567", 0).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, _, page) = post_form(&hub, &confirm, &format!("code={wrong}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("That code is not right. 2 tries left."), "{page}");
    let (status, first, page) = post_form(&hub, &confirm, &format!("code={code}")).await;
    assert_eq!(status, 303, "{page}");
    let (status, page) = get_page(&hub, &first).await;
    assert_eq!(status, 200);
    assert!(page.contains(">A001<") && page.contains("check in at the kiosk"), "{page}");
    let first_checkin = checkin_code_on(&page);
    let (status, _, page) = post_form(&hub, &confirm, &format!("code={code}")).await;
    assert_eq!(status, 409, "a code is used once: {page}");

    // One live remote ticket per mobile.
    let (status, _, page) = ask_code(&hub, "D", "0501234567").await;
    assert_eq!(status, 409);
    assert!(page.contains("already has a ticket"), "{page}");

    // The share: remote tickets at most half of A's line; 1 of 1 already, so A is full…
    let (status, form) = get_page(&hub, "/join?lang=en").await;
    assert_eq!(status, 200);
    assert!(!form.contains("value=\"A\"") && form.contains("value=\"D\""), "A is full: {form}");
    assert_eq!(ask_code(&hub, "A", "0502222222").await.0, 409);
    // …until two walk-ins join it (1 + 1 of 4).
    for _ in 0..2 {
        assert_eq!(hub.post("/api/v1/tickets", serde_json::json!({"service": "A"})).await.unwrap().0, 201);
    }
    let second = join(&hub, &smsc, "A", "0502222222").await;
    let (_, page) = get_page(&hub, &second).await;
    assert!(page.contains(">A004<"), "{page}");
    let second_checkin = checkin_code_on(&page);

    // Counter 2 (A and D): A001 is at the front but not here, so A002 is called and A001's
    // holder is told to check in, once.
    let next = || async { hub.post("/api/v1/counters/2/next", serde_json::json!({})).await.unwrap().1 };
    assert_eq!(next().await["ticket"], "A002");
    let told = |to: &str| smsc.messages_to(to).iter().filter(|m| m.text.contains("check in at the kiosk")).count();
    let told_once = wait_until(Duration::from_secs(10), || async { told("966501234567") == 1 }).await;
    assert!(told_once, "{:?}", smsc.messages());
    assert_eq!(next().await["ticket"], "A003", "still held: the next walk-in");

    // A001 checks in at the kiosk with the code from its page: it is called next, by the time
    // it joined.
    let (status, arrived) = hub.post("/api/v1/checkins", serde_json::json!({"code": first_checkin})).await.unwrap();
    assert_eq!(status, 200, "{arrived}");
    assert_eq!((arrived["number"].as_str(), arrived["source"].as_str()), (Some("A001"), Some("remote")));
    assert!(arrived["arrived_at"].is_string());
    assert_eq!(next().await["ticket"], "A001");
    assert_eq!(told("966501234567"), 1, "told once");
    let called = wait_until(Duration::from_secs(10), || async {
        smsc.messages_to("966501234567").iter().any(|m| m.text.contains("please go to counter"))
    })
    .await;
    assert!(called, "the called message follows");

    // A004 reaches the front without checking in: told, then a no-show after the grace time.
    let done = next().await;
    assert!(done["ticket"].is_null(), "nobody callable: {done}");
    assert!(wait_until(Duration::from_secs(10), || async { told("966502222222") == 1 }).await);
    let lapsed = wait_until(Duration::from_secs(15), || async {
        get_page(&hub, &second).await.1.contains("did not come to the counter")
    })
    .await;
    assert!(lapsed, "A004 is a no-show after the grace time");
    assert_eq!(told("966502222222"), 1, "told once");
    // Checking the lapsed ticket in is refused; its holder may join again.
    let (_, page) = get_page(&hub, &second).await;
    assert!(!page.contains("checkin-code"), "no code once it has ended");
    let (status, refused) = hub.post("/api/v1/checkins", serde_json::json!({"code": second_checkin})).await.unwrap();
    assert_eq!((status, refused["error"].as_str()), (409, Some("ticket_ended")), "{refused}");
    assert_eq!(ask_code(&hub, "D", "0502222222").await.0, 303);
}

#[tokio::test]
async fn one_time_codes_are_limited_per_code_per_mobile_and_in_time() {
    let smsc = Smsc::start();
    let dir = tempfile::tempdir().unwrap();
    let mut hub = hub_with_sms(&smsc, &dir).await;
    let to = "966503333333";

    // Three wrong codes end a code: even the right one is refused after them.
    let (_, confirm, _) = ask_code(&hub, "D", "0503333333").await;
    let code = new_code(&smsc, to, 0).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 7) % 1_000_000);
    assert_eq!(post_form(&hub, &confirm, &format!("code={wrong}")).await.0, 400);
    assert_eq!(post_form(&hub, &confirm, "code=12").await.0, 400, "a malformed code is not a try");
    assert_eq!(post_form(&hub, &confirm, &format!("code={wrong}")).await.0, 400);
    let (status, _, page) = post_form(&hub, &confirm, &format!("code={wrong}")).await;
    assert_eq!(status, 429);
    assert!(page.contains("Too many wrong codes"), "{page}");
    assert_eq!(post_form(&hub, &confirm, &format!("code={code}")).await.0, 429, "the code is dead");

    // Three codes per mobile per hour.
    let (status, expiring, _) = ask_code(&hub, "D", "0503333333").await;
    assert_eq!(status, 303);
    let expiring_code = new_code(&smsc, to, 1).await;
    assert_eq!(ask_code(&hub, "D", "0503333333").await.0, 303);
    let (status, _, page) = ask_code(&hub, "D", "0503333333").await;
    assert_eq!(status, 429);
    assert!(page.contains("Too many codes were sent to this mobile"), "{page}");
    assert_eq!(smsc.messages_to(to).len(), 3, "no fourth code was sent");

    // A code expires after 5 minutes (the hub's clock moved on).
    hub.restart_with(&["--clock-offset-s", "301"]).await.unwrap();
    let (status, _, page) = post_form(&hub, &expiring, &format!("code={expiring_code}")).await;
    assert_eq!(status, 410);
    assert!(page.contains("This code has expired"), "{page}");
    let (status, page) = get_page(&hub, "/join/00000000000000000000000000000000").await;
    assert_eq!(status, 404);
    assert!(page.contains("هذا الرابط غير صالح"), "{page}");
}

/// A booking's status on the site, looked up as its holder does.
async fn booking_status(site: &dawr_e2e::appointments::Site, code: &str, n: u32) -> String {
    let body = serde_json::json!({ "national_id": dawr_e2e::appointments::citizen_id(n) });
    let (_, booking) = site.post(&format!("/api/v1/bookings/{code}/lookup"), body).await.unwrap();
    booking["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_closes_a_day_tickets_and_bookings_stop_and_their_holders_are_told_once() {
    use dawr_e2e::appointments::{Site, TEST_KEY, example_booking, test_site};
    use dawr_protocol::api::closures::{CloseDay, DayClosure, DayClosures};
    let smsc = Smsc::start();
    let morning = dawr_e2e::morning_offset_s();
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nsender = \"Dawr\"\nmax_backoff_s = 0.5\n",
        smsc.address(),
        smsc::SYSTEM_ID,
        smsc::PASSWORD
    );
    let mut site = Site::start_with(Some(&(test_site(3, 1000) + &sms)), &["--clock-offset-s", &morning]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = site.url("");
    let flags = ["--clock-offset-s", &morning, "--appointments-url", &url, "--appointments-key", TEST_KEY];
    let mut hub =
        hub_with_sms_args(&smsc, &dir, |b| b, &[&flags[..], &["--appointments-poll-s", "0.5"]].concat()).await;

    // Today (09:00 in Riyadh on both clocks) and tomorrow, at 14:00.
    let today = (chrono::Utc::now() + chrono::Duration::hours(3)).date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let book = |n: u32, service: &str, day: chrono::NaiveDate, phone: &str, lang: &str| {
        let mut body = example_booking(&format!("{day}T11:00:00Z"), service, n);
        body["phone"] = phone.into();
        body["lang"] = lang.into();
        body
    };
    let mut codes = Vec::new();
    for (n, service, day, phone, lang) in [
        (1, "A", today, "0551111111", "en"),
        (2, "A", today, "0552222222", "ar"),
        (3, "E", today, "0553333333", "en"),
        (4, "A", tomorrow, "0554444444", "en"),
    ] {
        let (code, booked) = site.post("/api/v1/bookings", book(n, service, day, phone, lang)).await.unwrap();
        assert_eq!(code, 201, "{booked}");
        codes.push(booked["code"].as_str().unwrap().to_string());
    }
    // A walk-in waiting for A who gave a mobile, and one for B.
    let (_, ticket) = hub.post("/api/v1/tickets", serde_json::json!({ "service": "A" })).await.unwrap();
    let subscribe = serde_json::json!({ "token": ticket["token"], "mobile": "0501111111", "lang": "en" });
    assert_eq!(hub.post_as("/api/v1/sms/subscriptions", subscribe, None).await.unwrap().0, 201);
    assert_eq!(hub.post("/api/v1/tickets", serde_json::json!({ "service": "B" })).await.unwrap().0, 201);

    // Only a signed-in manager closes a day.
    let close = |day: chrono::NaiveDate, service: Option<&str>| {
        serde_json::to_value(CloseDay { day, service: service.map(str::to_string) }).unwrap()
    };
    let staff = hub.sign_in("s101", None).await.unwrap().token;
    assert_eq!(hub.post_as("/api/v1/closures", close(today, Some("A")), Some(&staff)).await.unwrap().0, 403);
    assert_eq!(hub.post_as("/api/v1/closures", close(today, Some("A")), None).await.unwrap().0, 401);
    let token = manager(&hub).await;
    let (status, bad) = hub.post_as("/api/v1/closures", close(today, Some("Q")), Some(&token)).await.unwrap();
    assert_eq!((status, bad["error"].as_str()), (404, Some("unknown_service")), "{bad}");
    let yesterday = today - chrono::Duration::days(1);
    assert_eq!(hub.post_as("/api/v1/closures", close(yesterday, None), Some(&token)).await.unwrap().0, 400);
    let (status, closed) = hub.post_as("/api/v1/closures", close(today, Some("A")), Some(&token)).await.unwrap();
    assert_eq!(status, 201, "{closed}");
    let closed: DayClosure = serde_json::from_value(closed).unwrap();
    assert_eq!((closed.day, closed.service.as_deref(), closed.closed_by.as_str()), (today, Some("A"), "m001"));
    assert_eq!(hub.post_as("/api/v1/closures", close(today, Some("A")), Some(&token)).await.unwrap().0, 200, "again");

    // The hub: A takes no ticket (clearly said), B does; the kiosk sees A closed; /join says so.
    let (status, refused) = hub.post("/api/v1/tickets", serde_json::json!({ "service": "A" })).await.unwrap();
    assert_eq!((status, refused["error"].as_str()), (409, Some("service_closed")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("closed service A for today"), "{refused}");
    assert_eq!(hub.post("/api/v1/tickets", serde_json::json!({ "service": "B" })).await.unwrap().0, 201);
    let (_, services) = hub.get("/api/v1/services").await.unwrap();
    let a = services.as_array().unwrap().iter().find(|s| s["code"] == "A").unwrap().clone();
    assert_eq!(a["open"], false, "{a}");
    let (status, _, page) = ask_code(&hub, "A", "0507777777").await;
    assert_eq!(status, 409);
    assert!(page.contains("The branch has closed this service for today"), "{page}");
    let (status, _, page) = post_form(&hub, "/join?lang=ar", "service=A&mobile=0507777777").await;
    assert_eq!(status, 409);
    assert!(page.contains("أغلق الفرع هذه الخدمة اليوم"), "{page}");
    let (_, cancelled) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await.unwrap();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    // The walk-in who gave a mobile is told, once.
    let closed_text = |to: &str| smsc.messages_to(to).iter().filter(|m| m.text.contains("closed this service")).count();
    let told = wait_until(Duration::from_secs(20), || async { closed_text("966501111111") == 1 }).await;
    assert!(told, "{:?}\n{}", smsc.messages_to("966501111111"), hub.log());
    let told = smsc.messages_to("966501111111").last().unwrap().text.clone();
    assert!(told.contains("ticket A001 is cancelled"), "{told}");

    // The site: today's A bookings are cancelled and each holder texted in their language with a
    // link to book again; E's and tomorrow's stay; A has no place left today.
    let site_told = wait_until(Duration::from_secs(20), || async {
        let (_, list) = hub.post_as("/api/v1/closures", close(today, Some("A")), Some(&token)).await.unwrap();
        list["site_told_at"].is_string()
    })
    .await;
    assert!(site_told, "the site confirmed the closed day:\n{}", hub.log());
    assert_eq!(booking_status(&site, &codes[0], 1).await, "cancelled");
    assert_eq!(booking_status(&site, &codes[1], 2).await, "cancelled");
    assert_eq!(booking_status(&site, &codes[2], 3).await, "booked");
    assert_eq!(booking_status(&site, &codes[3], 4).await, "booked");
    let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/A/slots?date={today}")).await.unwrap();
    let places: Vec<u64> =
        slots["slots"].as_array().unwrap().iter().map(|s| s["available"].as_u64().unwrap()).collect();
    assert!(!places.is_empty() && places.iter().all(|&p| p == 0), "no place on a closed day: {slots}");
    assert!(wait_until(Duration::from_secs(20), || async { !smsc.messages_to("966551111111").is_empty() }).await);
    assert!(wait_until(Duration::from_secs(20), || async { !smsc.messages_to("966552222222").is_empty() }).await);
    let english = smsc.messages_to("966551111111")[0].text.clone();
    assert!(english.contains("has closed Power of attorney on") && english.contains(&codes[0]), "{english}");
    assert!(english.contains("/b/demo/A?lang=en"), "a link to book again: {english}");
    let arabic = smsc.messages_to("966552222222")[0].text.clone();
    assert!(arabic.contains("الوكالات") && arabic.contains("/b/demo/A?lang=ar"), "{arabic}");
    assert!(smsc.messages_to("966553333333").is_empty() && smsc.messages_to("966554444444").is_empty());

    // Tomorrow, the whole branch, on the dashboard while the site is away; the hub killed: after
    // both return the site is told, tomorrow's booking cancelled and its holder texted, once.
    site.stop();
    let browser = form_client();
    let signed = browser
        .post(hub.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", hub.pin("m001"))])
        .send()
        .await
        .unwrap();
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let form = [("day", tomorrow.to_string()), ("service", String::new())];
    let closing = browser.post(hub.url("/dashboard/closures?lang=en")).header("cookie", &cookie).form(&form);
    let closing = closing.send().await.unwrap();
    assert_eq!(closing.status().as_u16(), 303);
    let page = browser.get(hub.url("/dashboard?lang=en")).header("cookie", &cookie).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Closed days") && page.contains("The whole branch"), "{page}");
    assert!(page.contains("Not told yet") && page.contains("Bookings cancelled"), "today's told, tomorrow's not yet");
    let past = [("day", yesterday.to_string()), ("service", String::new())];
    let refused = browser.post(hub.url("/dashboard/closures?lang=en")).header("cookie", &cookie).form(&past);
    assert_eq!(refused.send().await.unwrap().status().as_u16(), 400, "a day already over");
    hub.restart().await.unwrap();
    site.start_again().await.unwrap();
    let cancelled =
        wait_until(Duration::from_secs(30), || async { !smsc.messages_to("966554444444").is_empty() }).await;
    assert!(cancelled, "tomorrow's holder told after the restarts:\n{}", hub.log());
    assert_eq!(booking_status(&site, &codes[3], 4).await, "cancelled");
    let (status, list) = hub.manager_get("/api/v1/closures").await.unwrap();
    assert_eq!(status, 200, "{list}");
    let list: DayClosures = serde_json::from_value(list).unwrap();
    assert_eq!(
        list.closures.iter().map(|c| (c.day, c.service.clone())).collect::<Vec<_>>(),
        [(today, Some("A".to_string())), (tomorrow, None)]
    );
    assert_eq!(closed_text("966501111111"), 1, "told once, across the restart");
    assert_eq!(smsc.messages_to("966551111111").len(), 1, "each holder once");
    assert_eq!(smsc.messages_to("966554444444").len(), 1);
}

/// The dashboard's live alerts fragment, as the signed-in manager `cookie` reads it.
async fn alerts_fragment(hub: &Hub, cookie: &str) -> String {
    let client = dawr_e2e::http_client().build().unwrap();
    let response = client.get(hub.url("/dashboard/alerts?lang=en")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Signs the manager in on the dashboard; the session cookie.
async fn dashboard_cookie(hub: &Hub) -> String {
    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("staff", "m001"), ("pin", hub.pin("m001"))];
    let response = client.post(hub.url("/dashboard/sign-in")).form(&form).send().await.unwrap();
    let cookie = response.headers().get("set-cookie").expect("the session cookie").to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// Live alerts: a counter paused longer than `[alerts] paused_max_min` is shown on the
/// dashboard's live list and sent to the manager by SMS (through the test SMSC) and e-mail
/// (through the test SMTP server). The SMTP server is down at first: the e-mail waits in the
/// outbox through a `kill -9` of the hub and arrives after the restart, once. The alert is
/// raised once: it still holds after the restart and is not sent again; resumed, it clears;
/// paused again within the quiet period, it is shown but not sent.
#[tokio::test]
async fn an_alert_is_shown_and_sent_once_by_sms_and_e_mail_through_a_kill_9() {
    let smsc = Smsc::start();
    let smtp = dawr_e2e::smtp::SmtpServer::start();
    smtp.refuse(true);
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "\n[alerts]\ncheck_every_s = 0.3\npaused_max_min = 0.02\nquiet_min = 60\nlang = \"en\"\n\
         sms_to = [\"0551234567\"]\nemail_to = [\"manager@branch.test\"]\nsmtp = \"{}\"\n\
         smtp_security = \"none\"\nsmtp_from = \"dawr@branch.test\"\n",
        smtp.address()
    );
    // The demo's own [alerts] section gives way to the test's.
    let without_alerts = |branch: String| {
        let start = branch.find("\n[alerts]").expect("the demo's [alerts]");
        let end = start + 1 + branch[start + 1..].find("\n\n").expect("a blank line after it");
        format!("{}{}", &branch[..start], &branch[end..])
    };
    let mut hub = hub_with_sms_and(&smsc, &dir, |branch| without_alerts(branch) + &alerts).await;
    let cookie = dashboard_cookie(&hub).await;
    assert!(alerts_fragment(&hub, &cookie).await.contains("No alerts now."));

    let pause = serde_json::json!({"reason": "prayer"});
    assert_eq!(hub.post("/api/v1/counters/2/pause", pause.clone()).await.unwrap().0, 200);
    let wait = Duration::from_secs(15);
    let shown = wait_until(wait, || async { alerts_fragment(&hub, &cookie).await.contains("data-alert=\"paused:2\"") });
    assert!(shown.await, "the paused counter is on the dashboard's live list");
    let sms = smsc.wait_for(1, wait).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].to, "966551234567");
    assert!(sms[0].text.contains("Counter 2 has been paused"), "{}", sms[0].text);
    assert!(wait_until(wait, || async { smtp.refused() >= 1 }).await, "the hub tried the SMTP server");
    // The SMS's outcome is recorded before the kill (else, as documented, it may go twice).
    let token = manager(&hub).await;
    let recorded = wait_until(wait, || async {
        status(&hub, &token)
            .await
            .messages
            .iter()
            .any(|m| m.kind == "alert" && m.state != "sending" && m.state != "queued")
    });
    assert!(recorded.await, "the alert SMS is recorded as submitted");

    hub.kill9();
    smtp.refuse(false);
    hub.restart().await.unwrap();
    let mail = smtp.wait_for(1, wait).await;
    assert_eq!(mail.len(), 1, "the e-mail waited in the outbox through the kill -9");
    assert_eq!(
        (mail[0].from.as_str(), mail[0].to.as_slice()),
        ("dawr@branch.test", &["manager@branch.test".to_string()][..])
    );
    let unmarked = |s: &str| s.chars().filter(|c| !matches!(c, '\u{2068}' | '\u{2069}')).collect::<String>();
    assert!(unmarked(&mail[0].subject).contains("Counter 2 has been paused"), "{}", mail[0].subject);
    let body = unmarked(&mail[0].body);
    assert!(body.contains("Counter 2 has been paused") && body.contains("الشباك 2 متوقف"), "both languages: {body}");

    // Still paused after the restart: shown, not sent again. Resumed: cleared.
    let cookie = dashboard_cookie(&hub).await;
    let shown = wait_until(wait, || async { alerts_fragment(&hub, &cookie).await.contains("paused:2") });
    assert!(shown.await);
    assert_eq!(hub.post("/api/v1/counters/2/resume", serde_json::json!({})).await.unwrap().0, 200);
    let cleared = wait_until(wait, || async { alerts_fragment(&hub, &cookie).await.contains("No alerts now.") });
    assert!(cleared.await, "resumed: the alert clears");
    // Paused again within the quiet period: shown, but not sent.
    assert_eq!(hub.post("/api/v1/counters/2/pause", pause).await.unwrap().0, 200);
    let shown = wait_until(wait, || async { alerts_fragment(&hub, &cookie).await.contains("paused:2") });
    assert!(shown.await, "shown again");
    let sent = smsc.messages();
    assert_eq!(sent.len(), 1, "one SMS for the condition within its quiet period: {sent:?}");
    assert_eq!(smtp.messages().len(), 1, "one e-mail for the condition within its quiet period");
}
