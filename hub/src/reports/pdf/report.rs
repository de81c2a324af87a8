//! The monthly report's pages: the cover with the headline figures against the targets, the
//! charts, the per-counter and per-staff tables, the corrective actions and a page per service.
//! It draws what the reports computed (the summary, service levels, cases, causes and actions
//! of the month) and computes nothing of its own beyond picking and formatting.
use chrono::{Datelike, NaiveDate};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::actions::{ActionStatus, CorrectiveActions};
use dawr_protocol::api::reports::{CaseKind, CaseReport, CausesReport, Figures, SlaReport, Summary};

use super::doc::Rgb;
use super::layout::{Chart, Writer};
use super::typeset::Shaper;
use crate::domain::Branch;

/// Everything the monthly report shows, computed by the reports for the month's local days.
pub struct MonthlyReport<'a> {
    pub branch: &'a Branch,
    /// The month's first and last day.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub summary: &'a Summary,
    pub sla: &'a SlaReport,
    pub cases: &'a CaseReport,
    pub causes: &'a CausesReport,
    pub actions: &'a CorrectiveActions,
}

/// A count as written in the report.
pub fn count(n: usize) -> String {
    n.to_string()
}

/// Seconds as minutes with one decimal (`–` for nothing).
pub fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or("–".into(), |s| format!("{:.1}", s / 60.0))
}

/// A share with one decimal (`–` for nothing).
pub fn percent(p: Option<f64>) -> String {
    p.map_or("–".into(), |p| format!("{p:.1}%"))
}

/// A mean rating of 5, two decimals.
pub fn rating(mean: Option<f64>) -> String {
    mean.map_or("–".into(), |m| format!("{m:.2}"))
}

fn axis_count(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

fn axis_minutes(v: f64) -> String {
    format!("{v:.1}")
}

fn axis_rating(v: f64) -> String {
    format!("{v:.1}")
}

struct Report<'a> {
    input: &'a MonthlyReport<'a>,
    texts: &'a Texts,
    lang: Lang,
}

impl Report<'_> {
    fn t(&self, key: &str) -> String {
        self.texts.get(self.lang, key, &[])
    }

    fn t_args(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.texts.get(self.lang, key, args)
    }

    fn name<'n>(&self, names: &'n dawr_protocol::api::Names) -> &'n str {
        match self.lang {
            Lang::Ar => &names.ar,
            Lang::En => &names.en,
        }
    }

    fn service_name(&self, code: &str) -> String {
        let service = self.input.branch.services.iter().find(|s| s.code == code);
        service.map_or(code.to_string(), |s| self.name(&s.name).to_string())
    }

    fn counter_name(&self, id: &str) -> String {
        let counter = self.input.branch.counters.iter().find(|c| c.id == id);
        counter.map_or(id.to_string(), |c| self.name(&c.name).to_string())
    }

    fn staff_name(&self, id: &str) -> String {
        let staff = self.input.branch.staff.iter().find(|s| s.id == id);
        staff.map_or(id.to_string(), |s| format!("{} ({id})", self.name(&s.name)))
    }

    fn target_s(&self, code: &str) -> Option<u32> {
        self.input.branch.services.iter().find(|s| s.code == code).map(|s| s.target_wait_s)
    }

    fn month_title(&self) -> String {
        let month = self.t(&format!("month-{}", self.input.from.month()));
        self.t_args(
            "report-pdf-month",
            &[("month", Arg::Text(&month)), ("year", Arg::Text(&self.input.from.year().to_string()))],
        )
    }

    fn gregorian(&self, day: NaiveDate) -> String {
        let weekday = day.weekday().number_from_monday() as u8;
        self.texts.gregorian_date(self.lang, day.year(), day.month() as u8, day.day() as u8, weekday)
    }

    fn hijri(&self, day: NaiveDate) -> String {
        HijriDate::from_gregorian(day.year(), day.month() as u8, day.day() as u8)
            .map_or_else(String::new, |h| self.texts.hijri_date(self.lang, h))
    }

    fn cause_name(&self, cause: &str, reason: bool) -> String {
        match (reason, cause) {
            (true, _) => self.t(&format!("reason-{}", cause.replace('_', "-"))),
            (false, crate::reports::causes::UNCATEGORISED) => self.t("dash-uncategorised"),
            (false, _) => cause.to_string(),
        }
    }

    fn cover(&self, w: &mut Writer<'_>) {
        let input = self.input;
        w.new_page();
        w.y += 40.0;
        w.paragraph(&self.t("report-pdf-title"), 24.0, true, Rgb::INK);
        w.paragraph(self.name(&input.branch.name), 16.0, true, Rgb::INK);
        w.y += 6.0;
        w.paragraph(&self.month_title(), 14.0, false, Rgb::INK);
        let gregorian = self.t_args(
            "report-pdf-gregorian",
            &[("from", Arg::Text(&self.gregorian(input.from))), ("to", Arg::Text(&self.gregorian(input.to)))],
        );
        let hijri = self.t_args(
            "report-pdf-hijri",
            &[("from", Arg::Text(&self.hijri(input.from))), ("to", Arg::Text(&self.hijri(input.to)))],
        );
        w.paragraph(&gregorian, 10.0, false, Rgb::GREY);
        w.paragraph(&hijri, 10.0, false, Rgb::GREY);
        w.y += 10.0;
        self.headline(w);
        self.against_targets(w);
    }

    /// The month's headline figures beside their targets.
    fn headline(&self, w: &mut Writer<'_>) {
        let (total, sla, cases) = (&self.input.summary.total, &self.input.sla.total, &self.input.cases.total);
        w.heading(&self.t("report-pdf-headline"), 13.0, 60.0);
        let dash = || "–".to_string();
        let targets: Vec<u32> = self.input.branch.services.iter().map(|s| s.target_wait_s).collect();
        let wait_target = match (targets.iter().min(), targets.iter().max()) {
            (Some(a), Some(b)) if a == b => minutes(Some(f64::from(*a))),
            (Some(a), Some(b)) => format!("{}–{}", minutes(Some(f64::from(*a))), minutes(Some(f64::from(*b)))),
            _ => dash(),
        };
        let rows = vec![
            vec![self.t("report-pdf-visits"), count(total.visits), dash()],
            vec![self.t("report-pdf-served"), count(total.served), dash()],
            vec![self.t("report-pdf-no-shows"), count(total.no_shows), dash()],
            vec![self.t("report-pdf-wait-mean"), minutes(total.wait_s.mean), wait_target.clone()],
            vec![self.t("report-pdf-wait-p90"), minutes(total.wait_s.p90), wait_target],
            vec![self.t("report-pdf-within"), percent(total.within_target_pct), "100.0%".into()],
            vec![self.t("report-pdf-breaches"), count(sla.breaches), count(0)],
            vec![self.t("report-pdf-csat"), rating(total.csat.mean), dash()],
            vec![self.t("report-pdf-satisfied"), percent(total.csat.satisfied_pct), dash()],
            vec![self.t("report-pdf-cases-opened"), count(cases.opened.total()), dash()],
            vec![self.t("report-pdf-cases-closed"), count(cases.closed.total()), dash()],
            vec![
                self.t("report-pdf-cases-closed-within"),
                count(cases.closed_within_target.total()),
                count(cases.closed.total()),
            ],
        ];
        let head = [self.t("report-pdf-figure"), self.t("report-pdf-value"), self.t("report-pdf-target")];
        w.table(&head, &rows, &[3.0, 1.2, 1.2]);
    }

    /// Each service's waits against its own target.
    fn against_targets(&self, w: &mut Writer<'_>) {
        w.heading(&self.t("report-pdf-per-service-targets"), 13.0, 60.0);
        let rows: Vec<Vec<String>> = self
            .input
            .summary
            .per_service
            .iter()
            .map(|s| {
                let sla = self.input.sla.per_service.iter().find(|x| x.service == s.service);
                vec![
                    self.service_name(&s.service),
                    minutes(self.target_s(&s.service).map(f64::from)),
                    minutes(s.figures.wait_s.mean),
                    minutes(s.figures.wait_s.p90),
                    percent(s.figures.within_target_pct),
                    sla.map_or("–".into(), |x| count(x.breaches)),
                ]
            })
            .collect();
        let head = [
            self.t("report-pdf-service"),
            self.t("report-pdf-target-min"),
            self.t("report-pdf-wait-mean"),
            self.t("report-pdf-wait-p90"),
            self.t("report-pdf-within"),
            self.t("report-pdf-breaches"),
        ];
        w.table(&head, &rows, &[2.4, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    fn charts(&self, w: &mut Writer<'_>) {
        let summary = self.input.summary;
        w.new_page();
        w.heading(&self.t("report-pdf-charts"), 16.0, 200.0);
        let one = |v: f64| vec![v];
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-hour"),
            groups: summary.per_hour.iter().map(|h| (format!("{:02}", h.hour), one(h.visits as f64))).collect(),
            series: vec![],
            target: None,
            group_targets: vec![],
            group_target_label: None,
            floor_max: 1.0,
            format: axis_count,
        });
        let services = &summary.per_service;
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-wait"),
            groups: services
                .iter()
                .map(|s| (self.service_name(&s.service), one(s.figures.wait_s.mean.unwrap_or(0.0) / 60.0)))
                .collect(),
            series: vec![],
            target: None,
            group_targets: services.iter().map(|s| self.target_s(&s.service).map(|t| f64::from(t) / 60.0)).collect(),
            group_target_label: Some(self.t("report-pdf-target-mark")),
            floor_max: 1.0,
            format: axis_minutes,
        });
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-within"),
            groups: services
                .iter()
                .map(|s| (self.service_name(&s.service), one(s.figures.within_target_pct.unwrap_or(0.0))))
                .collect(),
            series: vec![],
            target: Some((100.0, self.t("report-pdf-target"))),
            group_targets: vec![],
            group_target_label: None,
            floor_max: 100.0,
            format: axis_count,
        });
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-csat"),
            groups: services
                .iter()
                .map(|s| (self.service_name(&s.service), one(s.figures.csat.mean.unwrap_or(0.0))))
                .collect(),
            series: vec![],
            target: None,
            group_targets: vec![],
            group_target_label: None,
            floor_max: 5.0,
            format: axis_rating,
        });
        let reasons = &self.input.causes.reasons.overall;
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-causes"),
            groups: reasons.causes.iter().map(|c| (self.cause_name(&c.cause, true), one(c.share_pct))).collect(),
            series: vec![],
            target: None,
            group_targets: vec![],
            group_target_label: None,
            floor_max: 10.0,
            format: axis_count,
        });
        let cases = &self.input.cases.total;
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-cases"),
            groups: CaseKind::ALL
                .into_iter()
                .map(|k| {
                    let label = self.t(&format!("dash-kind-{}", k.code().replace('_', "-")));
                    (label, vec![cases.opened.of(k) as f64, cases.closed.of(k) as f64])
                })
                .collect(),
            series: vec![self.t("report-pdf-series-opened"), self.t("report-pdf-series-closed")],
            target: None,
            group_targets: vec![],
            group_target_label: None,
            floor_max: 1.0,
            format: axis_count,
        });
        w.chart(&Chart {
            title: &self.t("report-pdf-chart-breaches"),
            groups: self
                .input
                .sla
                .per_day
                .iter()
                .map(|d| (format!("{}", d.day.day()), one(d.breaches as f64)))
                .collect(),
            series: vec![],
            target: None,
            group_targets: vec![],
            group_target_label: None,
            floor_max: 1.0,
            format: axis_count,
        });
    }

    fn figure_head(&self, first: &str) -> Vec<String> {
        [
            first,
            "report-pdf-visits",
            "report-pdf-served",
            "report-pdf-wait-mean",
            "report-pdf-service-time",
            "report-pdf-within",
            "report-pdf-csat",
        ]
        .into_iter()
        .map(|k| self.t(k))
        .collect()
    }

    fn figure_row(name: String, f: &Figures) -> Vec<String> {
        vec![
            name,
            count(f.visits),
            count(f.served),
            minutes(f.wait_s.mean),
            minutes(f.service_time_s.mean),
            percent(f.within_target_pct),
            rating(f.csat.mean),
        ]
    }

    fn people(&self, w: &mut Writer<'_>) {
        let summary = self.input.summary;
        let shares = [2.4, 0.9, 0.9, 1.0, 1.0, 1.0, 1.0];
        w.new_page();
        w.heading(&self.t("report-pdf-per-counter"), 14.0, 60.0);
        let rows: Vec<Vec<String>> =
            summary.per_counter.iter().map(|c| Self::figure_row(self.counter_name(&c.counter), &c.figures)).collect();
        w.table(&self.figure_head("report-pdf-counter"), &rows, &shares);
        w.heading(&self.t("report-pdf-per-staff"), 14.0, 60.0);
        let rows: Vec<Vec<String>> =
            summary.per_staff.iter().map(|s| Self::figure_row(self.staff_name(&s.staff), &s.figures)).collect();
        w.table(&self.figure_head("report-pdf-staff"), &rows, &shares);
    }

    fn status(&self, status: ActionStatus) -> String {
        let key = match status {
            ActionStatus::Planned => "actions-status-planned",
            ActionStatus::InProgress => "actions-status-in-progress",
            ActionStatus::Done => "actions-status-done",
            ActionStatus::Dropped => "actions-status-dropped",
        };
        self.t(key)
    }

    fn actions(&self, w: &mut Writer<'_>) {
        let actions = self.input.actions;
        w.heading(&self.t("report-pdf-actions"), 14.0, 60.0);
        if actions.actions.is_empty() {
            w.paragraph(&self.t("actions-none"), 10.0, false, Rgb::INK);
            return;
        }
        w.paragraph(
            &self.t_args("actions-window", &[("days", Arg::Number(f64::from(actions.window_days)))]),
            9.0,
            false,
            Rgb::GREY,
        );
        let window =
            |share: Option<f64>, satisfaction: Option<f64>| format!("{} · {}", percent(share), percent(satisfaction));
        let rows: Vec<Vec<String>> = actions
            .actions
            .iter()
            .map(|a| {
                let reason = a.cause_kind == dawr_protocol::api::actions::CauseKind::Reason;
                let service =
                    a.service.as_deref().map_or_else(|| self.t("report-pdf-all-services"), |s| self.service_name(s));
                vec![
                    format!("{} — {}", self.cause_name(&a.cause, reason), service),
                    a.action.clone(),
                    a.owner.clone(),
                    self.status(a.status),
                    window(a.before.share_pct, a.before.satisfaction),
                    a.after.as_ref().map_or("–".into(), |x| window(x.share_pct, x.satisfaction)),
                ]
            })
            .collect();
        let head = [
            self.t("report-pdf-cause"),
            self.t("report-pdf-action"),
            self.t("actions-owner"),
            self.t("actions-status"),
            self.t("report-pdf-before"),
            self.t("report-pdf-after"),
        ];
        w.table(&head, &rows, &[1.6, 2.0, 0.9, 0.9, 1.2, 1.2]);
    }

    fn service_page(&self, w: &mut Writer<'_>, code: &str, f: &Figures) {
        w.new_page();
        let name = self.service_name(code);
        w.heading(&self.t_args("report-pdf-service-page", &[("service", Arg::Text(&name))]), 16.0, 60.0);
        let sla = self.input.sla.per_service.iter().find(|s| s.service == code);
        let dash = || "–".to_string();
        let target = self.target_s(code).map(f64::from);
        let rows = vec![
            vec![self.t("report-pdf-visits"), count(f.visits), dash()],
            vec![self.t("report-pdf-served"), count(f.served), dash()],
            vec![self.t("report-pdf-no-shows"), count(f.no_shows), dash()],
            vec![self.t("report-pdf-cancelled"), count(f.cancelled), dash()],
            vec![self.t("report-pdf-wait-mean"), minutes(f.wait_s.mean), minutes(target)],
            vec![self.t("report-pdf-wait-median"), minutes(f.wait_s.median), minutes(target)],
            vec![self.t("report-pdf-wait-p90"), minutes(f.wait_s.p90), minutes(target)],
            vec![self.t("report-pdf-service-time"), minutes(f.service_time_s.mean), dash()],
            vec![self.t("report-pdf-within"), percent(f.within_target_pct), "100.0%".into()],
            vec![self.t("report-pdf-breaches"), sla.map_or(dash(), |s| count(s.breaches)), count(0)],
            vec![self.t("report-pdf-csat"), rating(f.csat.mean), dash()],
            vec![self.t("report-pdf-satisfied"), percent(f.csat.satisfied_pct), dash()],
        ];
        let head = [self.t("report-pdf-figure"), self.t("report-pdf-value"), self.t("report-pdf-target")];
        w.table(&head, &rows, &[3.0, 1.2, 1.2]);
        let group = self.input.causes.reasons.per_service.iter().find(|g| g.group == code);
        let causes: Vec<(String, Vec<f64>)> = group
            .map(|g| g.causes.iter().map(|c| (self.cause_name(&c.cause, true), vec![c.share_pct])).collect())
            .unwrap_or_default();
        if causes.is_empty() {
            w.heading(&self.t("report-pdf-chart-causes"), 11.0, 20.0);
            w.paragraph(&self.t("report-pdf-causes-none"), 10.0, false, Rgb::INK);
        } else {
            w.chart(&Chart {
                title: &self.t("report-pdf-chart-causes"),
                groups: causes,
                series: vec![],
                target: None,
                group_targets: vec![],
                group_target_label: None,
                floor_max: 10.0,
                format: axis_count,
            });
        }
    }
}

/// The monthly report as PDF bytes, in `lang` (Arabic right to left).
pub fn monthly_pdf(input: &MonthlyReport<'_>, texts: &Texts, lang: Lang) -> Vec<u8> {
    let shaper = Shaper::new();
    let report = Report { input, texts, lang };
    let title =
        format!("{} — {} — {}", report.t("report-pdf-title"), report.name(&input.branch.name), report.month_title());
    let footer = report.t_args(
        "report-pdf-footer",
        &[("branch", Arg::Text(report.name(&input.branch.name))), ("month", Arg::Text(&report.month_title()))],
    );
    let mut writer = Writer::new(&shaper, &title, footer, lang == Lang::Ar);
    report.cover(&mut writer);
    report.charts(&mut writer);
    report.people(&mut writer);
    report.actions(&mut writer);
    for service in &input.summary.per_service {
        report.service_page(&mut writer, &service.service, &service.figures);
    }
    writer.finish()
}
