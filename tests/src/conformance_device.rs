//! The device side of the conformance kit: it plays the hub (and the broker's traffic) against a
//! device's logic and reports per rule of `docs/PROTOCOL.md`, like [`crate::conformance`] does
//! for a hub.
//!
//! Here it checks Dawr's own device code, without IO: the counter button's logic
//! (`dawr-firmware-logic`'s `Device`, which the firmware and `dawr-button-sim` both run) — presses
//! answered, replies lost, duplicated, another device's, malformed, a hub restart — and the
//! display board's (`BoardState`, which its MQTT link feeds) — calls missed while reconnecting,
//! calls delivered twice. Time is the kit's: no test waits for a real timeout.
use chrono::{DateTime, Duration, TimeZone, Utc};
use dawr_display_board::board::{BoardFilter, BoardState};
use dawr_firmware_logic::{Config, Device, Key, Mode, Outgoing, Press};
use dawr_protocol::api::{Board, Call, Names};
use dawr_protocol::device::Command;

use crate::conformance::{Outcome, cite};

/// Every device rule: its name and the sentence of `PROTOCOL.md` it checks.
pub const DEVICE_RULES: [(&str, &str); 11] = [
    ("command-names-device-and-id", "Ids are scoped to the sending device"),
    ("reply-matched-by-id", "a device keeps only the replies whose `id` is one it sent"),
    ("other-devices-reply-ignored", "(when present) is its own, and ignores the rest"),
    ("malformed-reply-ignored", "Readers must ignore fields they do not know"),
    ("lost-reply-resent-same-id", "then sends the same command again with the **same id**"),
    ("gives-up-after-three-sends", "at most 3 sends in"),
    ("one-command-at-a-time", "A device sends one command at a time"),
    ("resent-after-hub-restart", "it is less than 20 s old"),
    ("replayed-reply-accepted", "`replay: true` (since 1.1; absent otherwise) marks the answer"),
    ("board-announces-missed-calls", "a display remembers the highest call `id`"),
    ("call-delivered-twice-announced-once", "shows and announces it once"),
];

const CONFIG: Config<'static> = Config { branch: "demo", counter: "3", device: "button-3", mode: Mode::Counter };
const REPLY: &str = "dawr/v1/demo/counters/3/reply";
/// The device's reply timeout as the document gives it.
const TIMEOUT_MS: u64 = 3_000;

/// Runs every device rule against Dawr's button logic and board state.
pub fn check_dawr_devices() -> Vec<Outcome> {
    DEVICE_RULES
        .iter()
        .map(|(rule, quote)| {
            let (passed, detail) = match run(rule) {
                Ok(detail) => (true, detail),
                Err(detail) => (false, detail),
            };
            Outcome { rule, cites: cite(quote), passed, detail }
        })
        .collect()
}

type Checked = Result<String, String>;

fn ensure(ok: bool, why: impl Into<String>) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why.into()) }
}

fn online_button() -> Device<'static> {
    let mut d = Device::new(CONFIG, 0x2a);
    let _ = d.connected(0);
    d
}

fn command(out: &Outgoing) -> Result<Command, String> {
    serde_json::from_slice(&out.payload).map_err(|e| format!("the command does not parse: {e}"))
}

fn press(d: &mut Device<'_>, at: u64) -> Result<Command, String> {
    let out = d.press(Key::Next, Press::Short, at).ok_or("a press sent nothing")?;
    ensure(out.topic.as_str() == "dawr/v1/demo/counters/3/command", format!("sent on {}", out.topic))?;
    command(&out)
}

fn reply(d: &mut Device<'_>, json: &str, at: u64) {
    d.received(REPLY, json.as_bytes(), at);
}

fn run(rule: &str) -> Checked {
    let mut d = online_button();
    match rule {
        "command-names-device-and-id" => {
            let c = press(&mut d, 10)?;
            ensure((1..=48).contains(&c.id.len()), format!("id of {} bytes", c.id.len()))?;
            ensure(c.device.as_deref() == Some("button-3"), format!("device {:?}", c.device))?;
            Ok(format!("id {} from {:?}", c.id, c.device))
        }
        "reply-matched-by-id" => {
            let c = press(&mut d, 10)?;
            reply(&mut d, r#"{"id":"not-mine","ok":true,"ticket":"B001"}"#, 20);
            ensure(d.view().pending, "took another id's reply")?;
            reply(&mut d, &format!(r#"{{"id":"{}","device":"button-3","ok":true,"ticket":"A017"}}"#, c.id), 30);
            ensure(!d.view().pending, "its own reply did not end the command")?;
            Ok("only its own id".into())
        }
        "other-devices-reply-ignored" => {
            let c = press(&mut d, 10)?;
            reply(&mut d, &format!(r#"{{"id":"{}","device":"counter-3-app","ok":true,"ticket":"B001"}}"#, c.id), 20);
            ensure(d.view().pending, "took another device's reply with the same id")?;
            Ok("ignored".into())
        }
        "malformed-reply-ignored" => {
            let c = press(&mut d, 10)?;
            for garbage in ["{not json", "[1,2]", "", "\u{0}\u{ff}"] {
                reply(&mut d, garbage, 20);
            }
            ensure(d.view().pending, "garbage ended the command")?;
            reply(&mut d, &format!(r#"{{"id":"{}","future":[1,{{"x":2}}],"ok":true,"ticket":"A017"}}"#, c.id), 30);
            ensure(!d.view().pending, "a reply with an unknown field was not read")?;
            Ok("garbage ignored, unknown fields ignored".into())
        }
        "lost-reply-resent-same-id" => {
            let c = press(&mut d, 10)?;
            ensure(d.tick(10 + TIMEOUT_MS - 1).is_none(), "resent before the timeout")?;
            let again = d.tick(10 + TIMEOUT_MS).ok_or("not resent after the timeout")?;
            ensure(command(&again)? == c, "resent with another id or body")?;
            Ok(format!("{} resent after {TIMEOUT_MS} ms", c.id))
        }
        "gives-up-after-three-sends" => {
            press(&mut d, 0)?;
            let mut sends = 1;
            for t in 1..=10 {
                if d.tick(t * TIMEOUT_MS).is_some() {
                    sends += 1;
                }
            }
            ensure(sends == 3, format!("{sends} sends"))?;
            ensure(!d.view().pending, "still waiting after giving up")?;
            Ok("3 sends, then \"no reply\"".into())
        }
        "one-command-at-a-time" => {
            press(&mut d, 0)?;
            ensure(d.press(Key::Recall, Press::Short, 5).is_none(), "a second command while one is pending")?;
            Ok("the second press waits".into())
        }
        "resent-after-hub-restart" => {
            let c = press(&mut d, 0)?;
            d.disconnected(100);
            let again = d.connected(5_000).ok_or("not resent after reconnecting")?;
            ensure(command(&again)? == c, "resent with another id")?;
            reply(&mut d, &format!(r#"{{"id":"{}","ok":true,"ticket":"A017"}}"#, c.id), 5_050);
            let _ = press(&mut d, 6_000)?;
            d.disconnected(6_100);
            ensure(d.connected(6_000 + 21_000).is_none(), "resent a command older than 20 s")?;
            Ok("resent with the same id; a stale one dropped".into())
        }
        "replayed-reply-accepted" => {
            let c = press(&mut d, 10)?;
            reply(&mut d, &format!(r#"{{"id":"{}","ok":true,"ticket":"A017","replay":true}}"#, c.id), 20);
            ensure(!d.view().pending, "a replayed answer was not taken as the answer")?;
            reply(&mut d, &format!(r#"{{"id":"{}","ok":true,"ticket":"A017","replay":true}}"#, c.id), 30);
            ensure(d.view().notice.is_none() || !d.view().pending, "a second copy disturbed it")?;
            Ok("taken once".into())
        }
        "board-announces-missed-calls" => board_announces_missed_calls(),
        "call-delivered-twice-announced-once" => {
            let mut board = BoardState::new(BoardFilter::default(), Duration::seconds(8), 5);
            board.set_online(true);
            board.apply_board(board_with(vec![call(1, "A001")]), t(0));
            ensure(board.apply_call(call(2, "A002"), t(1)), "a new call was not news")?;
            ensure(!board.apply_call(call(2, "A002"), t(2)), "the same call id announced twice")?;
            Ok("once".into())
        }
        other => Err(format!("no such rule {other}")),
    }
}

fn board_announces_missed_calls() -> Checked {
    let mut board = BoardState::new(BoardFilter::default(), Duration::seconds(8), 5);
    board.set_online(true);
    let first = board.apply_board(board_with(vec![call(2, "A002"), call(1, "A001")]), t(0));
    ensure(first.is_empty(), "a board with no memory announced old calls")?;
    // Reconnected: two calls were made meanwhile; only the board brings them.
    board.set_online(false);
    board.set_online(true);
    let news = board.apply_board(board_with(vec![call(4, "A004"), call(3, "A003"), call(2, "A002")]), t(30));
    let ids: Vec<u64> = news.iter().map(|c| c.id).collect();
    ensure(ids == [3, 4], format!("announced {ids:?}, missed were [3, 4], oldest first"))?;
    Ok("the calls above the highest id seen, oldest first".into())
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + s, 0).unwrap()
}

fn names(s: &str) -> Names {
    Names { ar: s.into(), en: s.into() }
}

fn call(id: u64, ticket: &str) -> Call {
    Call {
        id,
        ticket: ticket.into(),
        counter: "3".into(),
        service: "A".into(),
        recall: false,
        at: t(id as i64),
        service_name: names("A"),
        counter_name: names("3"),
    }
}

fn board_with(calls: Vec<Call>) -> Board {
    Board { branch: "demo".into(), name: names("demo"), updated_at: t(0), calls, services: vec![], utc_offset: None }
}
