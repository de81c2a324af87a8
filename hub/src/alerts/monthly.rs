//! The monthly report to the managers by e-mail: from the first of each month (the branch's
//! local date) the report of the month before, as a PDF in `[alerts] lang`, goes to each
//! address of `[alerts] email_to` through the alert e-mail outbox (`alert_mail`, with the file
//! attached). The month is noted as queued in the same transaction as its e-mails
//! (`monthly_report_mail`), so it is sent once per branch and month, whatever restarts come; a
//! hub started later in the month sends the month before's then. A month without visits has
//! no report to send (a new branch does not get an empty one).
use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_web::Db;
use tokio::sync::Notify;

use super::store;
use crate::branch_cell::BranchCell;
use crate::domain::Branch;

/// How often the job looks whether a month's report is due.
const EVERY: Duration = Duration::from_secs(60);

/// The first day of the month whose report is due on `today`: the month before.
pub fn due_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first.pred_opt().and_then(|d| d.with_day(1)).unwrap_or(first)
}

/// The e-mail's subject and body for the report of the month starting on `first`.
pub fn mail_text(texts: &Texts, lang: Lang, branch: &Branch, first: NaiveDate) -> (String, String) {
    let name = match lang {
        Lang::Ar => &branch.name.ar,
        Lang::En => &branch.name.en,
    };
    let month_name = texts.get(lang, &format!("month-{}", first.month()), &[]);
    let year = first.year().to_string();
    let month = texts.get(lang, "report-pdf-month", &[("month", Arg::Text(&month_name)), ("year", Arg::Text(&year))]);
    let args = [("branch", Arg::Text(name)), ("month", Arg::Text(&month))];
    (texts.get(lang, "report-pdf-mail-subject", &args), texts.get(lang, "report-pdf-mail-body", &args))
}

/// Looks every minute until aborted; `wake` is the e-mail sender's.
pub fn spawn(
    db: Db,
    branch: BranchCell,
    recipients: Vec<String>,
    lang: Lang,
    wake: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let texts = Arc::new(Texts::new());
        let mut told = None;
        loop {
            match send_due(&db, &branch, &recipients, lang, &texts, &wake).await {
                Ok(Due::QueuedBefore(month)) if told != Some(month) => {
                    tracing::info!(month = %month.format("%Y-%m"), "the monthly report was queued before");
                    told = Some(month);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the monthly report could not be queued; trying again later"),
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// What a look found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// The month's report is in the outbox now.
    Queued,
    /// It was before (this start or an earlier one).
    QueuedBefore(NaiveDate),
    /// The month had no visits.
    Nothing,
}

/// Queues the due month's report unless it was, or the month had no visits.
async fn send_due(
    db: &Db,
    cell: &BranchCell,
    recipients: &[String],
    lang: Lang,
    texts: &Arc<Texts>,
    wake: &Notify,
) -> anyhow::Result<Due> {
    let branch = cell.get();
    let now = crate::clock::now();
    let first = due_month(now.with_timezone(&branch.utc_offset).date_naive());
    let range = (first, crate::reports::month_end(first));
    let month = first.format("%Y-%m").to_string();
    let (id, key) = (branch.id.clone(), month.clone());
    let queued = db.read(move |c| store::monthly_queued(c, &id, &key)).await??;
    if queued {
        return Ok(Due::QueuedBefore(first));
    }
    if !db.read(move |c| store::has_visits(c, range)).await?? {
        return Ok(Due::Nothing);
    }
    let (b, t) = (branch.clone(), texts.clone());
    let pdf = db.read(move |c| crate::reports::read::monthly_pdf_of(c, &b, &t, range, lang)).await??;
    let name = crate::reports::pdf::file_name(&branch, first, lang);
    let (subject, body) = mail_text(texts, lang, &branch, first);
    let mails: Vec<(String, String, String)> =
        recipients.iter().map(|to| (to.clone(), subject.clone(), body.clone())).collect();
    let id = branch.id.clone();
    let fresh = db.write(move |c| store::queue_monthly(c, &id, &month, &mails, (&name, &pdf), now)).await??;
    if !fresh {
        return Ok(Due::QueuedBefore(first));
    }
    tracing::info!(month = %first.format("%Y-%m"), recipients = recipients.len(), "the monthly report was queued");
    wake.notify_one();
    Ok(Due::Queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_before_is_due() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(due_month(day("2026-11-01")), day("2026-10-01"));
        assert_eq!(due_month(day("2026-11-29")), day("2026-10-01"));
        assert_eq!(due_month(day("2027-01-01")), day("2026-12-01"));
        assert_eq!(due_month(day("2026-03-31")), day("2026-02-01"));
    }

    #[test]
    fn a_month_is_queued_once_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let now = chrono::Utc::now();
        let mail = |to: &str| (to.to_string(), "s".to_string(), "b".to_string());
        let mails = [mail("a@b.test"), mail("c@b.test")];
        let file = ("r.pdf", b"%PDF-1.7".as_slice());
        assert!(store::queue_monthly(&mut conn, "DMM", "2026-10", &mails, file, now).unwrap());
        assert!(!store::queue_monthly(&mut conn, "DMM", "2026-10", &mails, file, now).unwrap(), "once a month");
        assert!(store::monthly_queued(&conn, "DMM", "2026-10").unwrap());
        assert!(!store::monthly_queued(&conn, "DMM", "2026-11").unwrap());
        let due = store::next_mail(&conn, now).unwrap().unwrap();
        assert_eq!(due.attachment, Some(("r.pdf".to_string(), b"%PDF-1.7".to_vec())));
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM alert_mail", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 2, "one e-mail per recipient, once");
    }
}
