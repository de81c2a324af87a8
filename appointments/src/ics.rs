//! The booking as an iCalendar file (RFC 5545), for the citizen's calendar app.
//!
//! One `VEVENT` with the slot's start and end in UTC, the service and branch as summary and
//! location, and the booking code in the description. Lines end in CRLF and are folded at 75
//! octets without splitting a UTF-8 character.
use chrono::{DateTime, Utc};

/// What goes into the event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub uid: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub stamp: DateTime<Utc>,
    pub summary: &'a str,
    pub location: &'a str,
    pub description: &'a str,
    pub cancelled: bool,
}

/// Escapes a TEXT value.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line to at most 75 octets per physical line.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The whole `.ics` file.
pub fn calendar(event: &Event<'_>) -> String {
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Dawr//Appointments//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        format!("METHOD:{}", if event.cancelled { "CANCEL" } else { "PUBLISH" }),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", text(event.uid)),
        format!("DTSTAMP:{}", stamp(event.stamp)),
        format!("DTSTART:{}", stamp(event.start)),
        format!("DTEND:{}", stamp(event.end)),
        format!("SUMMARY:{}", text(event.summary)),
        format!("LOCATION:{}", text(event.location)),
        format!("DESCRIPTION:{}", text(event.description)),
        format!("STATUS:{}", if event.cancelled { "CANCELLED" } else { "CONFIRMED" }),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_utc_times_escaped_text_and_folded_crlf_lines() {
        let ics = calendar(&Event {
            uid: "K7M3PX9A@dawr",
            start: "2026-11-24T05:15:00Z".parse().unwrap(),
            end: "2026-11-24T05:30:00Z".parse().unwrap(),
            stamp: "2026-11-23T09:00:00Z".parse().unwrap(),
            summary: "الوكالات; Power of attorney",
            location: &"مركز خدمة العملاء - فرع الدمام, ".repeat(3),
            description: "Code K7M3PX9A\nBring your ID",
            cancelled: false,
        });
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("DTSTART:20261124T051500Z\r\n"));
        assert!(ics.contains("DTEND:20261124T053000Z\r\n"));
        assert!(ics.contains("SUMMARY:الوكالات\\; Power of attorney\r\n"));
        assert!(ics.contains("DESCRIPTION:Code K7M3PX9A\\nBring your ID\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n'));
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("LOCATION:{}", "مركز خدمة العملاء - فرع الدمام\\, ".repeat(3))));
        assert!(!ics.contains("STATUS:CANCELLED"));
    }
}
