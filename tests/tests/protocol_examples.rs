//! docs/PROTOCOL.md's Command and Reply examples sent to a real hub: where the document says how
//! the hub answers an example, the hub answers it so. (That every example parses into its type
//! is `dawr-protocol`'s `tests/protocol_md.rs`.)
use std::time::Duration;

use anyhow::{Context, Result};
use dawr_e2e::{Hub, MqttProbe};
use dawr_protocol::api::{IssueTicket, Priority};
use dawr_protocol::device::{Command, Reply};

const PROTOCOL_MD: &str = include_str!("../../docs/PROTOCOL.md");
const WAIT: Duration = Duration::from_secs(10);
const REPLY: &str = "dawr/v1/demo/counters/3/reply";
const COMMAND: &str = "dawr/v1/demo/counters/3/command";

/// The JSON values of the first ```json block after the heading `### {section}`, as text.
fn block(section: &str) -> Vec<String> {
    let start = PROTOCOL_MD.find(&format!("### {section}\n")).expect("the section");
    let open = start + PROTOCOL_MD[start..].find("```json\n").expect("a JSON block") + "```json\n".len();
    let close = open + PROTOCOL_MD[open..].find("```").expect("the block's end");
    serde_json::Deserializer::from_str(&PROTOCOL_MD[open..close])
        .into_iter::<serde_json::Value>()
        .map(|v| v.expect("JSON").to_string())
        .collect()
}

async fn reply(button: &mut MqttProbe) -> Result<Reply> {
    let msg = button.next_on(REPLY, WAIT).await.context("no reply")?;
    Ok(serde_json::from_slice(&msg.payload)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_answers_the_documents_examples_as_documented() -> Result<()> {
    let commands = block("Command");
    let replies: Vec<Reply> = block("Reply").iter().map(|r| serde_json::from_str(r)).collect::<Result<_, _>>()?;
    let hub = Hub::start_embedded().await?;
    let mut button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-3")?).await?;
    button.subscribe(REPLY).await?;
    let ticket = IssueTicket {
        service: "A".into(),
        priority: Priority::Normal,
        appointment_at: None,
        request_id: None,
        sms: None,
    };
    let (status, _) = hub.post("/api/v1/tickets", serde_json::to_value(&ticket)?).await?;
    assert_eq!(status, 201);

    // The first Command example: answered as the first Reply example (with the ticket called).
    button.publish(COMMAND, commands[0].clone()).await?;
    let first = reply(&mut button).await?;
    assert_eq!(Reply { ticket: replies[0].ticket.clone(), ..first.clone() }, replies[0], "{first:?}");
    assert!(first.ticket.is_some(), "a visitor was waiting");
    // Sent again: the second Reply example.
    button.publish(COMMAND, commands[0].clone()).await?;
    let again = reply(&mut button).await?;
    assert_eq!(Reply { ticket: replies[1].ticket.clone(), ..again.clone() }, replies[1], "{again:?}");
    assert_eq!(again.ticket, first.ticket, "the first reply again");

    // The fourth Command example (complete) empties the counter; paused, `next` is the third.
    let complete: Command = serde_json::from_str(&commands[3])?;
    button.publish(COMMAND, commands[3].clone()).await?;
    let done = reply(&mut button).await?;
    assert!(done.ok && done.id == complete.id.as_str(), "{done:?}");
    button.publish(COMMAND, r#"{"id":"pause-1","action":"pause"}"#).await?;
    assert!(reply(&mut button).await?.ok);
    button.publish(COMMAND, format!(r#"{{"id":"{}","action":"next"}}"#, replies[2].id)).await?;
    assert_eq!(reply(&mut button).await?, replies[2]);
    Ok(())
}
