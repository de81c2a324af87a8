//! docs/PROTOCOL.md's JSON examples checked against the `dawr-protocol` types: every example in a
//! ```json block, and every inline `{…}` example that is JSON, is mapped by where it stands (its
//! heading, and in a table its row's first cell) to the type it shows; it must parse into that
//! type and serialise back to the same JSON value (so a misspelt optional field, which serde would
//! ignore, fails too). An example this test cannot map fails it: a new example needs a row in
//! [`EXAMPLES`]. Inline examples that are not JSON (`{"counter":"3","reason"?}`) are schematic
//! and left out.
use dawr_protocol::api::{self, crm, privacy};
use dawr_protocol::device;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const PROTOCOL_MD: &str = include_str!("../../docs/PROTOCOL.md");

/// Parses `value` as `T` and serialises it back; the error says what differs.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| format!("does not parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("does not serialise: {e}"))?;
    if &back == value { Ok(()) } else { Err(format!("serialises back differently: {back}")) }
}

type Check = fn(&Value) -> Result<(), String>;

/// The firmware update messages, which share a section: the one type the example round-trips
/// through (a `Chunk` borrows its data, so it is read from text).
fn update_message(value: &Value) -> Result<(), String> {
    let owned =
        [round_trip::<device::UpdateOffer>, round_trip::<device::ChunkRequest>, round_trip::<device::UpdateReport>];
    if owned.iter().any(|check| check(value).is_ok()) {
        return Ok(());
    }
    let text = value.to_string();
    let chunk: device::Chunk<'_> = serde_json::from_str(&text).map_err(|e| format!("no update message: {e}"))?;
    let back = serde_json::to_value(&chunk).map_err(|e| format!("does not serialise: {e}"))?;
    if &back == value { Ok(()) } else { Err(format!("serialises back differently: {back}")) }
}

/// Where an example stands (heading; table row's first cell, or "" outside tables) → its type.
const EXAMPLES: &[(&str, &str, &str, Check)] = &[
    ("Command", "", "device::Command", round_trip::<device::Command>),
    ("Reply", "", "device::Reply", round_trip::<device::Reply>),
    ("CounterState", "", "device::CounterState", round_trip::<device::CounterState>),
    ("Rating", "", "device::Rating", round_trip::<device::Rating>),
    ("ReasonForRating", "", "device::ReasonForRating", round_trip::<device::ReasonForRating>),
    ("Call", "", "api::Call", round_trip::<api::Call>),
    ("Board", "", "api::Board", round_trip::<api::Board>),
    ("Presence", "", "device::Presence", round_trip::<device::Presence>),
    ("Firmware updates", "", "device::{UpdateOffer, ChunkRequest, Chunk, UpdateReport}", update_message),
    ("HTTP", "", "api::ApiError", round_trip::<api::ApiError>),
    ("HTTP", "`GET /healthz`", "api::Health", round_trip::<api::Health>),
    ("HTTP", "`POST /api/v1/tickets`", "api::IssueTicket", round_trip::<api::IssueTicket>),
    ("HTTP", "`POST /api/v1/personal-data/export`", "privacy::PersonQuery", round_trip::<privacy::PersonQuery>),
    ("HTTP", "`POST /api/v1/personal-data/erase`", "privacy::PersonQuery", round_trip::<privacy::PersonQuery>),
    ("CRM webhooks", "", "crm::CaseEvent", round_trip::<crm::CaseEvent>),
    (
        "The uplink to the ministry's centre (NATS)",
        "",
        "ministry::UplinkEvent",
        round_trip::<dawr_protocol::api::ministry::UplinkEvent>,
    ),
];

/// One JSON example found in the document.
#[derive(Debug)]
struct Example {
    line: usize,
    heading: String,
    row: String,
    json: Value,
}

/// Every JSON value in `text` (several may follow one another, as in the Command block).
fn json_values(text: &str) -> Result<Vec<Value>, serde_json::Error> {
    serde_json::Deserializer::from_str(text).into_iter::<Value>().collect()
}

/// The examples of `doc`: each ```json block's values, and the inline `{…}` spans that are JSON.
fn examples(doc: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut heading = String::new();
    let mut block: Option<(usize, String)> = None;
    for (index, line) in doc.lines().enumerate() {
        let number = index + 1;
        if let Some((start, text)) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let values = json_values(text)
                    .unwrap_or_else(|e| panic!("PROTOCOL.md:{start}: the json block is not JSON: {e}"));
                assert!(!values.is_empty(), "PROTOCOL.md:{start}: an empty json block");
                found.extend(values.into_iter().map(|json| Example {
                    line: *start,
                    heading: heading.clone(),
                    row: String::new(),
                    json,
                }));
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if line.trim_start().starts_with("```json") {
            block = Some((number, String::new()));
            continue;
        }
        if let Some(title) = line.strip_prefix('#') {
            heading = title.trim_start_matches('#').trim().to_owned();
            continue;
        }
        let row = table_row_key(line);
        for span in inline_code(line).filter(|span| span.starts_with('{')) {
            if let Ok(json) = serde_json::from_str::<Value>(span) {
                found.push(Example { line: number, heading: heading.clone(), row: row.clone(), json });
            }
        }
    }
    assert!(block.is_none(), "PROTOCOL.md: a json block is not closed");
    found
}

/// A table row's first cell (the endpoint in the HTTP table), or "" for other lines.
fn table_row_key(line: &str) -> String {
    match line.strip_prefix('|') {
        Some(rest) => rest.split('|').next().unwrap_or("").trim().to_owned(),
        None => String::new(),
    }
}

/// The `inline code` spans of a line.
fn inline_code(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

#[test]
fn every_json_example_in_protocol_md_is_its_protocol_type() {
    let found = examples(PROTOCOL_MD);
    let mut failures = Vec::new();
    for example in &found {
        let mapped = EXAMPLES.iter().find(|(heading, row, _, _)| *heading == example.heading && *row == example.row);
        match mapped {
            None => failures.push(format!(
                "PROTOCOL.md:{} (under \"{}\", row \"{}\"): no type is mapped for {}",
                example.line, example.heading, example.row, example.json
            )),
            Some((_, _, name, check)) => {
                if let Err(why) = check(&example.json) {
                    failures.push(format!("PROTOCOL.md:{}: {} as {name}: {why}", example.line, example.json));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every mapped type has at least one example, so a mapping cannot outlive its example.
    for (heading, row, name, _) in EXAMPLES {
        assert!(
            found.iter().any(|e| e.heading == *heading && e.row == *row),
            "no example under \"{heading}\" (row \"{row}\") for {name}: remove the mapping or restore the example"
        );
    }
    assert!(found.len() >= 19, "only {} examples found: is the extraction broken?", found.len());
}

#[test]
fn a_misspelt_optional_field_fails_the_round_trip() {
    let example = serde_json::json!({"id": "b7-000042", "action": "next", "outcom": "resolved"});
    assert!(round_trip::<device::Command>(&example).is_err());
    let example = serde_json::json!({"id": "b7-000042", "action": "next", "outcome": "resolved"});
    assert_eq!(round_trip::<device::Command>(&example), Ok(()));
}
