//! Exit ratings score first, reason later, wherever they are taken — `POST /api/v1/ratings`,
//! the MQTT rating topic, the live ticket page's second rating — against a real hub: the score
//! is stored at once and answered with the rating's id; a reason sent later with that id joins
//! the same rating (still one rating); a second reason, a reason for a rating the counter does
//! not have, or a bad one is refused with a clear error; a v1 rating with its reason in one
//! message works as before.
use std::time::Duration;

use anyhow::{Context, Result};
use dawr_e2e::{Hub, MqttProbe};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn topic(rest: &str) -> String {
    format!("dawr/v1/demo/{rest}")
}

/// Serves one visitor at counter 2 (ending with `outcome`) and returns their ticket.
async fn serve_one(hub: &Hub, outcome: &str) -> Result<Value> {
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    for action in ["next", "start", "complete"] {
        let (status, reply) = hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": outcome})).await?;
        assert_eq!(status, 200, "{action}: {reply}");
    }
    Ok(ticket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_the_score_at_once_and_its_reason_later() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let ticket = serve_one(&hub, "resolved").await?;
    let id = ticket["id"].as_u64().unwrap();
    let (status, reply) = hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2})).await?;
    assert_eq!(status, 201, "{reply}");
    assert_eq!((reply["ticket"].as_str(), reply["rating"].as_u64()), (Some("A001"), Some(id)), "{reply}");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit.get("rating_reason")), (Some(2), None), "the score alone is stored");

    let reason = format!("/api/v1/ratings/{id}/reason");
    let (status, added) = hub.post(&reason, json!({"reason": "waited_too_long"})).await?;
    assert_eq!((status, added["rating"].as_u64()), (200, Some(id)), "{added}");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit["rating_reason"].as_str()), (Some(2), Some("waited_too_long")));

    let (status, error) = hub.post(&reason, json!({"reason": "other"})).await?;
    assert_eq!((status, error["error"].as_str()), (409, Some("reason_already_given")), "{error}");
    let (status, error) = hub.post(&format!("/api/v1/ratings/{}/reason", id + 40), json!({"reason": "other"})).await?;
    assert_eq!((status, error["error"].as_str()), (404, Some("unknown_rating")), "{error}");
    assert!(error["message"].as_str().unwrap().contains(&(id + 40).to_string()), "{error}");
    let (status, error) = hub.post(&reason, json!({"reason": "too_hot"})).await?;
    assert_eq!((status, error["error"].as_str()), (400, Some("malformed")), "{error}");
    let (status, error) = hub.post("/api/v1/ratings/A001/reason", json!({"reason": "other"})).await?;
    assert_eq!((status, error["error"].as_str()), (400, Some("malformed")), "{error}");

    // A v1 rating with its reason in one request is complete: nothing more to add.
    let next = serve_one(&hub, "resolved").await?;
    let (status, reply) =
        hub.post("/api/v1/ratings", json!({"counter": "2", "score": 1, "reason": "not_resolved"})).await?;
    assert_eq!((status, reply["rating"].as_u64()), (201, next["id"].as_u64()), "{reply}");
    let (status, error) =
        hub.post(&format!("/api/v1/ratings/{}/reason", next["id"]), json!({"reason": "other"})).await?;
    assert_eq!((status, error["error"].as_str()), (409, Some("reason_already_given")), "{error}");
    // The first visit's rating is no longer the counter's latest: its reason window has closed.
    let (status, error) = hub.post(&reason, json!({"reason": "other"})).await?;
    assert_eq!((status, error["error"].as_str()), (404, Some("unknown_rating")), "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_sends_the_score_at_once_and_the_reason_after_over_mqtt() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let mut terminal = MqttProbe::connect(hub.mqtt_port(), &hub.device("rating-2")?).await?;
    terminal.subscribe(&topic("counters/2/reply")).await?;
    let ticket = serve_one(&hub, "resolved").await?;
    let id = ticket["id"].as_u64().unwrap();

    terminal.publish(&topic("counters/2/rating"), r#"{"id":"t-1","score":1}"#).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-1").await.context("reply")?;
    let reply = reply.json();
    assert_eq!((reply["ok"].as_bool(), reply["rating"].as_u64()), (Some(true), Some(id)), "{reply}");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit.get("rating_reason")), (Some(1), None), "{visit}");

    // The reason follows with the rating's id; repeated (QoS 1 may deliver twice), it counts once.
    let later = format!(r#"{{"id":"t-2","rating":{id},"reason":"unclear_procedure"}}"#);
    terminal.publish(&topic("counters/2/rating"), later.clone()).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-2").await.context("reply")?;
    assert_eq!((reply.json()["ok"].as_bool(), reply.json()["rating"].as_u64()), (Some(true), Some(id)));
    terminal.publish(&topic("counters/2/rating"), later).await?;
    let again =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-2").await.context("reply")?;
    assert_eq!(again.json()["ok"], true, "a repeated id is answered as before");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit["rating_reason"].as_str()), (Some(1), Some("unclear_procedure")));

    // A second reason, one for a rating this counter does not have, and an unreadable one.
    let second = format!(r#"{{"id":"t-3","rating":{id},"reason":"other"}}"#);
    terminal.publish(&topic("counters/2/rating"), second).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-3").await.context("reply")?;
    assert_eq!(reply.json()["error"], "reason_already_given", "{}", reply.json());
    let stranger = format!(r#"{{"id":"t-4","rating":{},"reason":"other"}}"#, id + 7);
    terminal.publish(&topic("counters/2/rating"), stranger).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-4").await.context("reply")?;
    assert_eq!(reply.json()["error"], "unknown_rating", "{}", reply.json());
    terminal.publish(&topic("counters/2/rating"), r#"{"id":"t-5","rating":1}"#).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-5").await.context("reply")?;
    assert_eq!(reply.json()["error"], "malformed", "{}", reply.json());

    // A v1 terminal's score and reason in one message still work.
    let next = serve_one(&hub, "resolved").await?;
    terminal.publish(&topic("counters/2/rating"), r#"{"id":"t-6","score":2,"reason":"waited_too_long"}"#).await?;
    let reply =
        terminal.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == "t-6").await.context("reply")?;
    assert_eq!((reply.json()["ok"].as_bool(), reply.json()["rating"].as_u64()), (Some(true), next["id"].as_u64()));
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{}", next["id"])).await?;
    assert_eq!((visit["rating"].as_u64(), visit["rating_reason"].as_str()), (Some(2), Some("waited_too_long")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticket_pages_second_rating_keeps_its_score_and_takes_a_reason_after() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let ticket = serve_one(&hub, "follow_up").await?;
    let case_ref = ticket["case_ref"].as_str().unwrap().to_string();
    let staff = hub.staff_token().await?;
    let case = format!("/api/v1/cases/{case_ref}");
    let closed = hub.client.patch(hub.url(&case)).bearer_auth(&staff).json(&json!({"close": true})).send().await?;
    assert_eq!(closed.status().as_u16(), 200);

    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let page_url = format!("{}?lang=en", ticket["status_url"].as_str().unwrap());
    let base = ticket["status_url"].as_str().unwrap().trim_end_matches('/').to_string();
    let rated = client.post(format!("{base}/rate?lang=en")).form(&[("score", "1")]).send().await?;
    assert_eq!(rated.status().as_u16(), 303);
    let (_, noted) = hub.get(&case).await?;
    assert_eq!((noted["resolution_rating"].as_u64(), &noted["resolution_reason"]), (Some(1), &Value::Null));
    let page = client.get(&page_url).send().await?.text().await?;
    assert!(page.contains("Your rating is saved.") && page.contains("name=\"reason\""), "the page asks why: {page}");

    let said = client.post(format!("{base}/rate/reason?lang=en")).form(&[("reason", "not_resolved")]).send().await?;
    assert_eq!(said.status().as_u16(), 303);
    client.post(format!("{base}/rate/reason?lang=en")).form(&[("reason", "other")]).send().await?;
    let (_, noted) = hub.get(&case).await?;
    assert_eq!(
        (noted["resolution_rating"].as_u64(), noted["resolution_reason"].as_str()),
        (Some(1), Some("not_resolved")),
        "one rating, one reason: {noted}"
    );
    let page = client.get(&page_url).send().await?.text().await?;
    assert!(page.contains("Thank you for rating how your request was resolved.") && !page.contains("name=\"reason\""));
    Ok(())
}
