//! SMS end to end: a hub with `[sms]` sends through the SMSC simulator — test messages (Latin as
//! GSM 7-bit, long Arabic as UCS-2 in two parts) reach it and their receipts mark them
//! delivered; STOP from the mobile ends messages to it; with the SMSC refusing binds messages
//! wait, and after a `kill -9` of the hub with 50 queued every one arrives once the SMSC is back.
//! Joining from a phone (`/join`): the one-time code read from the simulator, the remote ticket
//! held at the front until its holder checks in at the kiosk (told once by SMS), a no-show after
//! the grace time, one live ticket per mobile, the service's share, and the code's limits.
use std::time::Duration;

use dawr_e2e::smsc::{self, Smsc};
use dawr_e2e::{Hub, demo_branch, production_branch, wait_until};
use dawr_protocol::api::sms::{SmsQueued, SmsStatus};

/// A hub whose branch file sends SMS through `smsc` (short back-offs for the test).
async fn hub_with_sms(smsc: &Smsc, dir: &tempfile::TempDir) -> Hub {
    hub_with_sms_and(smsc, dir, |branch| branch).await
}

/// [`hub_with_sms`], its branch file changed by `edit` first.
async fn hub_with_sms_and(smsc: &Smsc, dir: &tempfile::TempDir, edit: impl Fn(String) -> String) -> Hub {
    let file = dir.path().join("branch.toml");
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nsender = \"Dawr\"\n\
         messages_per_second = 200\nmax_backoff_s = 0.5\nmax_reconnect_s = 0.3\nenquire_link_s = 1\n",
        smsc.address(),
        smsc::SYSTEM_ID,
        smsc::PASSWORD
    );
    std::fs::write(&file, edit(production_branch(&demo_branch())) + &sms).unwrap();
    Hub::start_embedded_with(&["--config", file.to_str().unwrap()]).await.unwrap()
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
