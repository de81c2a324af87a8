//! What an alert says, in Arabic and English (pure: the texts come from `dawr-i18n`).
use dawr_i18n::{Arg, Lang, Texts};
use dawr_web::html::name;

use super::watch::{Condition, PrinterFault};
use crate::domain::Branch;

fn minutes(seconds: i64) -> f64 {
    (seconds.unsigned_abs() as f64 / 60.0).round()
}

/// The alert's one line in `lang`.
pub fn line(texts: &Texts, lang: Lang, branch: &Branch, condition: &Condition) -> String {
    let t = |key: &str, args: &[(&str, Arg<'_>)]| texts.get(lang, key, args);
    match condition {
        Condition::ServiceOverTarget { service, longest_wait_s, target_wait_s } => {
            let service_name =
                branch.services.iter().find(|s| &s.code == service).map_or(service.as_str(), |s| name(&s.name, lang));
            t(
                "alert-service-over-target",
                &[
                    ("service", Arg::Text(service_name)),
                    ("minutes", Arg::Number(minutes(*longest_wait_s))),
                    ("target", Arg::Number(minutes(*target_wait_s))),
                ],
            )
        }
        Condition::CounterPaused { counter, paused_for_s } => t(
            "alert-counter-paused",
            &[("counter", Arg::Text(counter)), ("minutes", Arg::Number(minutes(*paused_for_s)))],
        ),
        Condition::Printer { device, fault } => {
            let key = match fault {
                PrinterFault::PaperOut => "alert-printer-paper-out",
                PrinterFault::CoverOpen => "alert-printer-cover-open",
                PrinterFault::Offline => "alert-printer-offline",
            };
            t(key, &[("device", Arg::Text(device))])
        }
        Condition::DeviceOffline { device } => t("alert-device-offline", &[("device", Arg::Text(device))]),
        Condition::EscalationDue { case_ref, due_in_s } => {
            let key = if *due_in_s < 0 { "alert-escalation-overdue" } else { "alert-escalation-due" };
            t(key, &[("case", Arg::Text(case_ref)), ("minutes", Arg::Number(minutes(*due_in_s)))])
        }
    }
}

/// The alert as a message (an SMS): the branch's name and the line.
pub fn message(texts: &Texts, lang: Lang, branch: &Branch, condition: &Condition) -> String {
    let alert = line(texts, lang, branch, condition);
    texts.get(lang, "alert-message", &[("branch", Arg::Text(name(&branch.name, lang))), ("alert", Arg::Text(&alert))])
}

/// The alert as an e-mail: the subject in `lang`, the body in `lang` and then the other language.
pub fn mail(texts: &Texts, lang: Lang, branch: &Branch, condition: &Condition) -> (String, String) {
    let other = if lang == Lang::Ar { Lang::En } else { Lang::Ar };
    let subject = message(texts, lang, branch, condition);
    let body = format!("{subject}\n\n{}\n", message(texts, other, branch, condition));
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::branch::tests::small_branch;

    #[test]
    fn each_alert_reads_in_both_languages() {
        let texts = Texts::new();
        let branch = small_branch();
        let over = Condition::ServiceOverTarget { service: "A".into(), longest_wait_s: 1260, target_wait_s: 900 };
        let strip = |s: String| s.chars().filter(|c| !matches!(c, '\u{2068}' | '\u{2069}')).collect::<String>();
        assert_eq!(
            strip(message(&texts, Lang::En, &branch, &over)),
            "Dawr, Test branch: A: the longest wait is 21 min, over the target of 15 min"
        );
        let ar = strip(message(&texts, Lang::Ar, &branch, &over));
        assert!(ar.contains("أطول انتظار") && ar.contains("A (ar)"), "{ar}");
        let overdue = Condition::EscalationDue { case_ref: "TST-1".into(), due_in_s: -600 };
        assert!(strip(line(&texts, Lang::En, &branch, &overdue)).contains("overdue by 10 min"));
        let (subject, body) = mail(&texts, Lang::Ar, &branch, &Condition::DeviceOffline { device: "board-1".into() });
        assert!(body.starts_with(&subject) && strip(body.clone()).contains("board-1 is offline"), "{body}");
    }
}
