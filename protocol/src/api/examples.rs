//! One example of each body of the later API parts, as the docs show them, and a small check
//! that a body fits its OpenAPI schema ([`conforms`]). The hub's and the site's tests run every
//! example through their OpenAPI documents, so a field added to a type and not to the document
//! (or the other way round) fails a test.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::bookings::{
    Booking, BookingHold, BookingReport, BookingRequest, BookingStatus, CheckIn, Citizen, CodeConfirmation,
    HeldBooking, HubBooking, SiteBranch, SiteHealth, SiteService, Slot, Slots, WaitingListEntry, WaitingListJoin,
};
use super::cases::{Case, CaseDetail, CaseNotes, CaseStatus, CaseUpdate, EarlierVisit, Escalation};
use super::crm::CrmStatus;
use super::privacy::{
    AuditAction, AuditEntry, AuditPage, BookingsErasure, BookingsExport, ErasureReport, ExportedBooking, PersonQuery,
    PersonalDataExport, TransferNote,
};
use super::reports::{
    AppointmentFigures, CaseKind, CaseKinds, CaseLine, CasePeriod, CaseReport, CounterFigures, Csat, Figures,
    HourFigures, PauseReasonFigures, ServiceFigures, SlaBreach, SlaDay, SlaHour, SlaReport, SlaService, Spread,
    StaffFigures, Summary,
};
use super::reports::{
    CauseShare, PeriodChange, PeriodFigures, PeriodsReport, QuarterColumn, QuarterTable, ServiceVisits,
};
use super::sessions::{Role, Session, SignIn};
use super::sms::{SmsMessage, SmsQueued, SmsSend, SmsStatus, SmsSubscribe, SmsSubscribed};
use super::staff::StaffToday;
use super::{Names, Priority, Source, Ticket, TicketStatus};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an example time")
}

fn names(ar: &str, en: &str) -> Names {
    Names { ar: ar.into(), en: en.into() }
}

/// A waiting walk-in ticket as a staff session reads it: the demo branch's 17th power-of-attorney
/// visitor, four ahead. Printouts, pages and screens in tests and screenshots start from it.
pub fn ticket() -> Ticket {
    Ticket {
        id: 1,
        number: "A017".into(),
        service: "A".into(),
        service_name: names("الوكالات", "Power of attorney"),
        priority: Priority::Normal,
        source: Source::WalkIn,
        status: TicketStatus::Waiting,
        position: Some(4),
        estimated_wait_s: Some(700),
        estimated_wait_range_s: Some([300, 1250]),
        counter: None,
        case_ref: "DMM-20261123-000017".into(),
        token: "0123456789abcdef0123456789abcdef".into(),
        status_url: "http://127.0.0.1:8080/t/0123456789abcdef0123456789abcdef".into(),
        issued_at: at("2026-11-23T06:05:00Z"),
        appointment_at: None,
        called_at: None,
        started_at: None,
        ended_at: None,
        recalls: 0,
        arrived_at: None,
        held_at: None,
        outcome: None,
        rating: None,
        rating_reason: None,
    }
}

/// `POST /api/v1/sessions`.
pub fn sign_in() -> SignIn {
    SignIn { staff: "s101".into(), pin: "1111".into(), counter: Some("2".into()) }
}

/// Its answer.
pub fn session() -> Session {
    Session {
        token: "9f2c41d0a7".into(),
        staff: "s101".into(),
        name: names("عبدالله القحطاني", "Abdullah Alqahtani"),
        role: Role::Staff,
        counter: Some("2".into()),
        counters: vec!["1".into(), "2".into()],
        services: vec!["A".into(), "D".into()],
        expires_at: at("2026-11-23T17:00:00Z"),
    }
}

/// A case left open by a follow-up, with a low rating's escalation.
pub fn case() -> Case {
    Case {
        case_ref: "DMM-20261123-000017".into(),
        ticket: "A017".into(),
        service: "A".into(),
        source: "walk_in".into(),
        issued_at: at("2026-11-23T09:00:00Z"),
        first_called_at: Some(at("2026-11-23T09:10:00Z")),
        started_at: Some(at("2026-11-23T09:11:00Z")),
        ended_at: Some(at("2026-11-23T09:20:00Z")),
        counter: Some("3".into()),
        staff: Some("s101".into()),
        outcome: Some("follow_up".into()),
        status: CaseStatus::Open,
        due_at: Some(at("2026-11-26T09:20:00Z")),
        overdue: false,
        escalation: Some(Escalation {
            at: at("2026-11-23T09:21:00Z"),
            score: 2,
            reason: "not_resolved".into(),
            due_at: at("2026-11-24T09:21:00Z"),
            open: true,
            overdue: false,
        }),
        rating: Some(2),
        notes: CaseNotes {
            category: Some("billing".into()),
            visitor: Some("1012345678".into()),
            notes: "call back".into(),
            updated_at: Some(at("2026-11-23T09:19:00Z")),
            updated_by: Some("s101".into()),
            ..CaseNotes::default()
        },
    }
}

/// A case still at the counter: most fields are `null`.
pub fn case_in_progress() -> Case {
    Case {
        first_called_at: None,
        started_at: None,
        ended_at: None,
        counter: None,
        staff: None,
        outcome: None,
        status: CaseStatus::InProgress,
        due_at: None,
        escalation: None,
        rating: None,
        notes: CaseNotes::default(),
        ..case()
    }
}

/// `GET /api/v1/cases/{case_ref}`.
pub fn case_detail() -> CaseDetail {
    let earlier = Case { case_ref: "DMM-20261101-000003".into(), issued_at: at("2026-11-01T08:00:00Z"), ..case() };
    CaseDetail { case: case(), earlier_visits: vec![EarlierVisit::from(earlier)] }
}

/// `PATCH /api/v1/cases/{case_ref}`.
pub fn case_update() -> CaseUpdate {
    CaseUpdate {
        category: Some("billing".into()),
        visitor: Some("1012345678".into()),
        notes: Some("call back".into()),
        close: true,
    }
}

/// `GET /api/v1/staff/today`.
pub fn staff_today() -> StaffToday {
    StaffToday { staff: "s101".into(), date: "2026-11-23".parse().expect("a day"), served: 7, mean_service_s: None }
}

fn figures() -> Figures {
    Figures {
        visits: 2,
        served: 1,
        no_shows: 1,
        cancelled: 0,
        open: 0,
        wait_s: Spread { count: 2, mean: Some(300.0), median: Some(240.0), p90: Some(600.0) },
        service_time_s: Spread { count: 1, mean: Some(420.0), median: Some(420.0), p90: Some(420.0) },
        within_target_pct: Some(50.0),
        csat: Csat {
            ratings: 1,
            mean: Some(2.0),
            satisfied_pct: Some(0.0),
            reasons: BTreeMap::from([("long_wait".to_string(), 1)]),
        },
    }
}

/// `GET /api/v1/reports/summary`.
pub fn summary() -> Summary {
    Summary {
        from: "2026-11-01".parse().expect("a day"),
        to: "2026-11-30".parse().expect("a day"),
        service: Some("A".into()),
        counter: None,
        total: figures(),
        per_service: vec![ServiceFigures { service: "A".into(), figures: figures() }],
        per_counter: vec![CounterFigures { counter: "3".into(), figures: figures() }],
        per_staff: vec![StaffFigures { staff: "s101".into(), figures: figures() }],
        per_hour: vec![HourFigures { hour: 9, visits: 2 }],
        appointments: AppointmentFigures { checked_in: 3, no_shows: 1 },
        sms: super::reports::SmsFigures {
            price_per_part: 0.05,
            currency: "SAR".into(),
            months: vec![super::reports::SmsMonth {
                month: "2026-11-01".parse().expect("a day"),
                messages: 3,
                parts: 4,
                cost: 0.2,
                kinds: vec![super::reports::SmsKindFigures { kind: "near".into(), messages: 3, parts: 4, cost: 0.2 }],
            }],
        },
    }
}

fn kinds(follow_up: usize, referral: usize, escalation: usize) -> CaseKinds {
    CaseKinds { follow_up, referral, escalation }
}

/// `GET /api/v1/reports/cases`.
pub fn case_report() -> CaseReport {
    let period = |from: &str, to: &str| CasePeriod {
        from: from.parse().expect("a day"),
        to: to.parse().expect("a day"),
        opened: kinds(40, 8, 12),
        closed: kinds(36, 7, 11),
        closed_within_target: kinds(30, 6, 8),
        open_at_end: kinds(9, 2, 1),
        overdue_at_end: kinds(3, 0, 1),
        resolution_ratings: 14,
        resolution_rating_mean: Some(3.6),
    };
    CaseReport {
        branch: "demo".into(),
        total: period("2026-11-01", "2026-11-30"),
        months: vec![period("2026-11-01", "2026-11-30")],
        open: vec![CaseLine {
            case_ref: "DMM-20261123-000017".into(),
            ticket: "A017".into(),
            service: "A".into(),
            kind: CaseKind::FollowUp,
            opened_at: at("2026-11-23T06:40:00Z"),
            due_at: at("2026-11-26T06:40:00Z"),
            closed_at: None,
            staff: Some("s101".into()),
            counter: Some("2".into()),
            overdue: true,
            category: Some("title deeds".into()),
        }],
    }
}

/// `GET /api/v1/reports/service-levels`.
/// `GET /api/v1/reports/periods?period=quarter`: Q4 2026 against Q3, October month by month.
pub fn periods_report() -> PeriodsReport {
    let day = |text: &str| text.parse().expect("a date");
    let quarter = |from: &str, to: &str, visits: usize, change: PeriodChange| PeriodFigures {
        from: day(from),
        to: day(to),
        visits,
        served: visits - 400,
        within_target_pct: Some(63.5),
        breaches: 2182,
        wait_mean_s: Some(912.0),
        csat_ratings: 1800,
        csat_mean: Some(3.8),
        cases_opened: 1083,
        cases_closed: 1020,
        cases_open_at_end: 28,
        change,
    };
    let october = QuarterColumn {
        from: day("2026-10-01"),
        to: day("2026-10-31"),
        visits: 5991,
        per_service: vec![ServiceVisits { service: "A".into(), visits: 3100 }],
        cases_opened: 1083,
        cases_closed: 1020,
        cases_open_at_end: 73,
        csat_ratings: 1800,
        csat_mean: Some(3.8),
        resolution_rating_mean: None,
        top_reasons: vec![CauseShare {
            cause: "waited_too_long".into(),
            count: 120,
            share_pct: 41.0,
            previous_count: 80,
            previous_share_pct: Some(35.0),
            change_points: Some(6.0),
        }],
        top_categories: vec![],
    };
    PeriodsReport {
        branch: "riyadh-1".into(),
        period: "quarter".into(),
        from: day("2026-10-01"),
        to: day("2026-11-26"),
        previous: quarter("2026-07-01", "2026-09-30", 19_000, PeriodChange::default()),
        periods: vec![quarter(
            "2026-10-01",
            "2026-12-31",
            11_500,
            PeriodChange { visits_pct: Some(-39.5), within_target_points: Some(-26.5), ..PeriodChange::default() },
        )],
        quarters: vec![QuarterTable {
            from: day("2026-10-01"),
            to: day("2026-12-31"),
            months: vec![october.clone()],
            total: october,
        }],
    }
}

pub fn sla_report() -> SlaReport {
    let service = SlaService {
        service: "A".into(),
        target_s: Some(900),
        measured: 120,
        within: 90,
        breaches: 30,
        never_called: 4,
        within_pct: Some(75.0),
    };
    SlaReport {
        branch: "demo".into(),
        from: "2026-11-22".parse().expect("a day"),
        to: "2026-11-22".parse().expect("a day"),
        total: SlaService { service: String::new(), target_s: None, ..service.clone() },
        per_service: vec![service],
        per_day: vec![SlaDay {
            day: "2026-11-22".parse().expect("a day"),
            visits: 130,
            served: 110,
            cancelled: 6,
            measured: 120,
            within: 90,
            breaches: 30,
            within_pct: Some(75.0),
            wait_mean_s: Some(640.0),
            counters_staffed: 3,
            staff: 3,
            staffed_hours: 15.5,
            counters_serving: 3,
        }],
        grid: vec![SlaHour {
            weekday: 0,
            hour: 11,
            days: 1,
            arrivals: 41,
            measured: 38,
            within: 10,
            within_pct: Some(26.3),
            counters_staffed: 2.5,
        }],
        pauses: vec![PauseReasonFigures { reason: "prayer".into(), pauses: 3, hours: 1.0, share_pct: 100.0 }],
        breaches: vec![SlaBreach {
            case_ref: "DMM-20261122-000042".into(),
            ticket: "A042".into(),
            service: "A".into(),
            local_day: "2026-11-22".parse().expect("a day"),
            issued_at: at("2026-11-22T08:00:00Z"),
            called_at: None,
            waited_s: 10800.0,
            target_s: 900,
            counter: None,
            staff: None,
        }],
    }
}

/// `GET /api/v1/reports/forecast?day=2026-11-29&extra=2&from_hour=10`.
pub fn forecast() -> super::forecast::Forecast {
    use super::forecast::{Forecast, ForecastCheck, ForecastHour, ForecastService, ServiceHour, WhatIf};
    let hour = |hour: u8, arrivals: f64, needed: usize, staffed: f64, wait: f64| ForecastHour {
        hour,
        arrivals,
        counters_needed: needed,
        counters_staffed: staffed,
        expected_wait_s: Some(wait),
        per_service: vec![ServiceHour { service: "A".into(), arrivals, counters_needed: needed }],
    };
    Forecast {
        branch: "demo".into(),
        day: "2026-11-29".parse().expect("a day"),
        weeks: 4,
        days_learned: 4,
        goal_pct: 80.0,
        services: vec![ForecastService { service: "A".into(), target_s: 900, mean_service_s: 512.5, served: 1480 }],
        hours: vec![hour(8, 31.5, 6, 5.0, 240.0), hour(9, 48.0, 8, 5.75, 1310.0)],
        what_if: Some(WhatIf {
            extra: 2,
            from_hour: 9,
            longest_wait_s: Some(185.0),
            longest_hour: 9,
            staffed_longest_wait_s: Some(1310.0),
        }),
        checks: vec![ForecastCheck {
            day: "2026-11-22".parse().expect("a day"),
            forecast: 380.5,
            actual: 402,
            hourly_error: 4.2,
            counters_error: 0.5,
        }],
    }
}

/// `POST /api/v1/actions`: a second counter for power of attorney against long waits.
pub fn new_action() -> super::actions::NewAction {
    use super::actions::{ActionStatus, CauseKind, NewAction};
    NewAction {
        cause_kind: CauseKind::Reason,
        cause: "waited_too_long".into(),
        service: Some("A".into()),
        action: "A second counter for power of attorney from 10:00".into(),
        owner: "m001".into(),
        due: "2026-10-31".parse().expect("a day"),
        starts: "2026-10-01".parse().expect("a day"),
        status: ActionStatus::InProgress,
    }
}

/// `GET /api/v1/firmware`: one signed image, offered to one button.
pub fn firmware_overview() -> super::FirmwareOverview {
    use super::{FirmwareImage, FirmwareOverview, FirmwareRollout};
    FirmwareOverview {
        images: vec![FirmwareImage {
            version: "0.9.0".into(),
            size: 494_296,
            sha256: "9f2c4b7e1a0d3c5b8e6f4a2d1c0b9e8f7a6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b".into(),
            signature: "ab".repeat(64),
            published_at: at("2026-11-28T09:00:00Z"),
        }],
        rollouts: vec![FirmwareRollout {
            device: "button-2".into(),
            version: "0.9.0".into(),
            chosen_at: at("2026-11-28T09:05:00Z"),
            chosen_by: "m001".into(),
        }],
    }
}

/// `POST /api/v1/firmware/rollouts`: offer 0.9.0 to two buttons.
pub fn new_rollout() -> super::NewRollout {
    super::NewRollout { version: Some("0.9.0".into()), devices: vec!["button-2".into(), "button-3".into()] }
}

/// One counter button in `GET /api/v1/devices`, halfway through taking 0.9.0.
pub fn button_updating() -> super::DeviceInfo {
    use crate::device::{PresenceStatus, UpdateReport, UpdateStage};
    super::DeviceInfo {
        device: "button-2".into(),
        role: Some(crate::acl::Role::Button),
        counter: Some("2".into()),
        status: PresenceStatus::Online,
        printer: None,
        seen_at: Some(at("2026-11-28T09:06:00Z")),
        firmware: Some("0.8.2".into()),
        uptime_s: Some(86_400),
        rssi: Some(-61),
        reset: None,
        offered: Some("0.9.0".into()),
        update: Some(UpdateReport {
            stage: UpdateStage::Downloading,
            version: Some("0.9.0".try_into().expect("a version")),
            received: Some(247_808),
            size: Some(494_296),
            reason: None,
        }),
    }
}

/// `PATCH /api/v1/actions/{id}`.
pub fn action_update() -> super::actions::ActionUpdate {
    super::actions::ActionUpdate { status: Some(super::actions::ActionStatus::Done), ..Default::default() }
}

/// `GET /api/v1/actions`.
pub fn corrective_actions() -> super::actions::CorrectiveActions {
    use super::actions::{CauseWindow, CorrectiveAction, CorrectiveActions};
    let new = new_action();
    let window = |from: &str, to: &str, with_cause: usize, satisfaction: f64| CauseWindow {
        from: from.parse().expect("a day"),
        to: to.parse().expect("a day"),
        counted: 40,
        with_cause,
        share_pct: Some(with_cause as f64 * 100.0 / 40.0),
        ratings: 310,
        satisfaction: Some(satisfaction),
    };
    CorrectiveActions {
        branch: "demo".into(),
        window_days: 28,
        actions: vec![CorrectiveAction {
            id: 1,
            cause_kind: new.cause_kind,
            cause: new.cause,
            service: new.service,
            action: new.action,
            owner: new.owner,
            due: new.due,
            starts: new.starts,
            status: new.status,
            overdue: false,
            created_by: "m001".into(),
            created_at: at("2026-09-30T07:00:00Z"),
            updated_by: "m001".into(),
            updated_at: at("2026-10-02T07:00:00Z"),
            before: window("2026-09-03", "2026-09-30", 26, 3.61),
            after: Some(window("2026-10-01", "2026-10-28", 14, 3.92)),
        }],
    }
}

/// `GET /api/v1/crm/status`.
pub fn crm_status() -> CrmStatus {
    CrmStatus {
        enabled: true,
        pending: 2,
        oldest_pending_at: Some("2026-11-23T09:20:00.120Z".into()),
        attempts: 3,
        last_error: Some("503 Service Unavailable".into()),
        last_attempt_at: Some("2026-11-23T09:21:00.000Z".into()),
        delivered: 40,
    }
}

/// `GET /api/v1/sms/messages`.
pub fn sms_status() -> SmsStatus {
    SmsStatus {
        enabled: true,
        queued: 1,
        submitted: 0,
        delivered: 12,
        failed: 1,
        opted_out: 2,
        messages: vec![SmsMessage {
            message_id: "demo-sms14".into(),
            mobile: "+966501234567".into(),
            kind: "test".into(),
            state: "delivered".into(),
            attempts: 1,
            parts: Some(2),
            created_at: "2026-11-23T09:20:00.120Z".into(),
            submitted_at: Some("2026-11-23T09:20:00.410Z".into()),
            done_at: Some("2026-11-23T09:20:03.000Z".into()),
            last_error: None,
        }],
    }
}

/// `POST /api/v1/sms/messages`.
pub fn sms_send() -> SmsSend {
    SmsSend { to: "0501234567".into(), text: "Dawr: a test message".into() }
}

/// `POST /api/v1/sms/messages` → 202.
pub fn sms_queued() -> SmsQueued {
    SmsQueued { message_id: "demo-sms15".into(), mobile: "+966501234567".into() }
}

/// `POST /api/v1/tickets` from a kiosk where the visitor gave a mobile.
pub fn issue_ticket_with_sms() -> super::IssueTicket {
    super::IssueTicket {
        service: "A".into(),
        priority: super::Priority::Normal,
        appointment_at: None,
        request_id: Some("kiosk-1-1795420800000-7".into()),
        sms: Some(super::sms::TicketSms { mobile: "0501234567".into(), lang: Some("en".into()) }),
    }
}

/// `POST /api/v1/sms/subscriptions`.
pub fn sms_subscribe() -> SmsSubscribe {
    SmsSubscribe { token: "k3J9xQ2mP7vR4tW8".into(), mobile: "0501234567".into(), lang: Some("en".into()) }
}

/// `POST /api/v1/sms/subscriptions` → 201.
pub fn sms_subscribed() -> SmsSubscribed {
    SmsSubscribed { number: "A017".into(), mobile: "+966501234567".into(), lang: "en".into() }
}

/// `POST /api/v1/checkins`.
pub fn check_in() -> CheckIn {
    CheckIn { code: "K7M3PX9A".into(), request_id: Some("kiosk-entrance-1".into()) }
}

/// `GET /api/v1/appointments`.
pub fn held_booking() -> HeldBooking {
    HeldBooking {
        code: "K7M3PX9A".into(),
        service: "E".into(),
        start: at("2026-11-24T05:00:00Z"),
        end: at("2026-11-24T05:15:00Z"),
        status: BookingStatus::CheckedIn,
        ticket: Some(17),
    }
}

/// The site's `GET /healthz`.
pub fn site_health() -> SiteHealth {
    SiteHealth { status: "ok".into() }
}

/// The site's `GET /api/v1/branches`.
pub fn site_branch() -> SiteBranch {
    SiteBranch {
        id: "demo".into(),
        name: names("فرع الدمام", "Dammam branch"),
        utc_offset: "+03:00".into(),
        slot_min: 15,
        horizon_days: 14,
    }
}

/// The site's `GET /api/v1/branches/{branch}/services`.
pub fn site_service() -> SiteService {
    SiteService { code: "E".into(), name: names("المواعيد", "Appointments"), capacity: 2 }
}

/// The site's slots of a day.
pub fn slots() -> Slots {
    Slots {
        branch: "demo".into(),
        service: "E".into(),
        date: "2026-11-24".parse().expect("a day"),
        slots: vec![Slot {
            start: at("2026-11-24T05:00:00Z"),
            end: at("2026-11-24T05:15:00Z"),
            capacity: 2,
            available: 1,
        }],
    }
}

/// The site's `POST /api/v1/bookings`.
pub fn booking_request() -> BookingRequest {
    BookingRequest {
        branch: "demo".into(),
        service: "E".into(),
        start: "2026-11-24T05:00:00Z".into(),
        name: "Sara".into(),
        national_id: "1012345678".into(),
        phone: "0551234567".into(),
        lang: Some("en".into()),
    }
}

/// The site's answer to a booking it holds until the SMS code confirms it.
pub fn booking_hold() -> BookingHold {
    BookingHold {
        hold: "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6".into(),
        confirm_url: "https://book.example.sa/api/v1/holds/3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6/confirm".into(),
        mobile: "05•••••567".into(),
        expires_at: at("2026-11-23T21:05:00Z"),
    }
}

/// The site's answer to joining a full slot's waiting list.
pub fn waiting_list_join() -> WaitingListJoin {
    WaitingListJoin {
        entry: "7c1e0b9a2d3f4e5a6b7c8d9e0f1a2b3c".into(),
        confirm_url: "https://book.example.sa/api/v1/waiting-list/7c1e0b9a2d3f4e5a6b7c8d9e0f1a2b3c/confirm".into(),
        mobile: "05•••••567".into(),
        expires_at: at("2026-11-23T21:05:00Z"),
    }
}

/// A waiting-list entry in line, second.
pub fn waiting_list_entry() -> WaitingListEntry {
    WaitingListEntry {
        entry: "7c1e0b9a2d3f4e5a6b7c8d9e0f1a2b3c".into(),
        branch: "demo".into(),
        service: "A".into(),
        start: at("2026-11-24T05:00:00Z"),
        state: "waiting".into(),
        place: Some(2),
    }
}

/// The code that confirms a held booking.
pub fn code_confirmation() -> CodeConfirmation {
    CodeConfirmation { code: "482913".into() }
}

/// The site's lookup and cancel (`start` only to reschedule).
pub fn citizen() -> Citizen {
    Citizen { national_id: "1012345678".into(), start: None }
}

/// The site's reschedule.
pub fn reschedule() -> Citizen {
    Citizen { start: Some("2026-11-25T05:00:00Z".into()), ..citizen() }
}

/// A booking as the citizen sees it.
pub fn booking() -> Booking {
    Booking {
        code: "K7M3PX9A".into(),
        branch: "demo".into(),
        service: "E".into(),
        service_name: names("المواعيد", "Appointments"),
        start: at("2026-11-24T05:00:00Z"),
        end: at("2026-11-24T05:15:00Z"),
        name: "Sara".into(),
        national_id: "******5678".into(),
        phone: "+966551234567".into(),
        lang: "en".into(),
        status: BookingStatus::Booked,
        page_url: "https://book.example/c/tok".into(),
        ics_url: "https://book.example/c/tok/booking.ics".into(),
        checkin_token: None,
    }
}

/// A booking as its hub pulls it.
pub fn hub_booking() -> HubBooking {
    HubBooking {
        code: "K7M3PX9A".into(),
        service: "E".into(),
        start: at("2026-11-24T05:00:00Z"),
        end: at("2026-11-24T05:15:00Z"),
        status: BookingStatus::Booked,
    }
}

/// A hub's report to the site.
pub fn booking_report() -> BookingReport {
    BookingReport { status: BookingStatus::CheckedIn, at: at("2026-11-24T04:55:00Z") }
}

/// `POST /api/v1/personal-data/export` and `…/erase` (hub and site).
pub fn person_query() -> PersonQuery {
    PersonQuery { person: "1012345678".into() }
}

/// `POST /api/v1/personal-data/export` (hub).
pub fn personal_data_export() -> PersonalDataExport {
    PersonalDataExport {
        exported_at: at("2026-11-24T08:00:00Z"),
        cases: vec![case()],
        transfer_notes: vec![TransferNote {
            case_ref: "DMM-20261123-000017".into(),
            at: at("2026-11-23T09:15:00Z"),
            note: "needs the deed".into(),
        }],
        sms: super::privacy::SmsPersonalData {
            messages: vec![super::privacy::ExportedSms {
                message_id: "demo-sms12".into(),
                kind: "near".into(),
                text: "Dawr: 3 visitors are ahead of ticket A017. Please come near the counters.".into(),
                state: "delivered".into(),
                created_at: "2026-11-23T09:02:11.000Z".into(),
            }],
            tickets: vec![super::privacy::SmsTicket {
                number: "A017".into(),
                lang: "en".into(),
                created_at: "2026-11-23T08:58:40.000Z".into(),
            }],
            opted_out_at: None,
            remote_tickets: vec![super::privacy::RemoteTicket {
                number: "D004".into(),
                joined_at: "2026-11-22T07:40:02.000Z".into(),
            }],
            join_codes_sent_at: vec!["2026-11-22T07:39:20.000Z".into()],
        },
    }
}

/// `POST /api/v1/closures` (hub, managers): close service A on 24 November.
pub fn close_day() -> super::closures::CloseDay {
    super::closures::CloseDay { day: "2026-11-24".parse().expect("a date"), service: Some("A".into()) }
}

/// The hub's closed day, as `POST` and `GET /api/v1/closures` answer it.
pub fn day_closure() -> super::closures::DayClosure {
    super::closures::DayClosure {
        day: "2026-11-24".parse().expect("a date"),
        service: Some("A".into()),
        closed_by: "m001".into(),
        closed_at: at("2026-11-23T13:05:00Z"),
        site_told_at: Some(at("2026-11-23T13:05:01Z")),
    }
}

/// `GET /api/v1/closures` (hub): the whole branch closed on a later day, not yet told to the site.
pub fn day_closures() -> super::closures::DayClosures {
    let later = super::closures::DayClosure {
        day: "2026-12-01".parse().expect("a date"),
        service: None,
        site_told_at: None,
        ..day_closure()
    };
    super::closures::DayClosures { closures: vec![day_closure(), later] }
}

/// `POST /api/v1/branches/{branch}/closures` (site): what the hub tells the site.
pub fn branch_closure() -> super::closures::BranchClosure {
    super::closures::BranchClosure { day: "2026-11-24".parse().expect("a date"), service: Some("A".into()) }
}

/// The site's answer to [`branch_closure`].
pub fn closure_applied() -> super::closures::ClosureApplied {
    super::closures::ClosureApplied { bookings_cancelled: 2 }
}

/// `POST /api/v1/personal-data/erase` (hub).
pub fn erasure_report() -> ErasureReport {
    ErasureReport { cases: 2, transfer_notes: 1, sms_messages: 2, sms_tickets: 1, remote_joins: 2 }
}

/// `POST /api/v1/branches/{branch}/personal-data/export` (site).
pub fn bookings_export() -> BookingsExport {
    BookingsExport {
        exported_at: at("2026-11-24T08:00:00Z"),
        bookings: vec![ExportedBooking {
            code: "K7M3XR9A".into(),
            branch: "demo".into(),
            service: "A".into(),
            start: at("2026-11-24T06:00:00Z"),
            name: "محمد العتيبي".into(),
            national_id: "1012345678".into(),
            phone: "+966501234567".into(),
            lang: "ar".into(),
            status: "booked".into(),
            created_at: at("2026-11-20T10:00:00Z"),
        }],
    }
}

/// `POST /api/v1/branches/{branch}/personal-data/erase` (site).
pub fn bookings_erasure() -> BookingsErasure {
    BookingsErasure { bookings: 3, cancelled: 1 }
}

/// `GET /api/v1/audit` (hub).
pub fn audit_page() -> AuditPage {
    let edit = AuditEntry {
        id: 42,
        at: at("2026-11-23T09:19:00Z"),
        actor: "s101".into(),
        action: AuditAction::CaseEdited,
        subject: Some("DMM-20261123-000017".into()),
        before: BTreeMap::from([("category".into(), String::new())]),
        after: BTreeMap::from([
            ("category".into(), "billing".into()),
            ("visitor".into(), "hmac:3f1c0a9e5b7d2468".into()),
        ]),
    };
    let sign_in = AuditEntry {
        id: 41,
        at: at("2026-11-23T09:00:00Z"),
        actor: "s101".into(),
        action: AuditAction::SignIn,
        subject: Some("3".into()),
        before: BTreeMap::new(),
        after: BTreeMap::new(),
    };
    AuditPage {
        from: "2026-11-23".parse().expect("a day"),
        to: "2026-11-23".parse().expect("a day"),
        entries: vec![edit, sign_in],
        next_before: Some(41),
    }
}

/// Whether `value` fits the schema `name` of the OpenAPI document `doc`: every field it writes
/// is documented with a type that admits its value (`null` only where the type lists `null`),
/// every required field is written, and enums hold. Handles what the project's documents use:
/// `$ref`, `allOf`, `anyOf` (one of the parts fits), `type` (one or a list), `properties`, `required`, `items`, `enum`,
/// `additionalProperties` (a schema, or false). `Err` says where it does not fit.
pub fn conforms(doc: &Value, name: &str, value: &Value) -> Result<(), String> {
    let schema = doc.pointer(&format!("/components/schemas/{name}")).ok_or_else(|| format!("no schema {name}"))?;
    check(doc, schema, value, name)
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> Result<&'a Value, String> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = reference.strip_prefix('#').ok_or_else(|| format!("external $ref {reference}"))?;
            let found = doc.pointer(target).ok_or_else(|| format!("dangling $ref {reference}"))?;
            resolve(doc, found)
        }
        None => Ok(schema),
    }
}

/// The object fields a schema documents (its own and its `allOf` parts'), and the required ones.
fn fields<'a>(
    doc: &'a Value,
    schema: &'a Value,
    into: &mut BTreeMap<String, &'a Value>,
    required: &mut Vec<String>,
) -> Result<(), String> {
    let schema = resolve(doc, schema)?;
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        fields(doc, part, into, required)?;
    }
    for (key, field) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        into.insert(key.clone(), field);
    }
    required.extend(
        schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(String::from)),
    );
    Ok(())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema)?;
    if let Some(parts) = schema.get("anyOf").and_then(Value::as_array) {
        let misfits: Vec<String> = parts.iter().filter_map(|part| check(doc, part, value, at).err()).collect();
        return if misfits.len() < parts.len() { Ok(()) } else { Err(misfits.join("; ")) };
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("allOf").is_some() || schema.get("properties").is_some() => vec!["object"],
        _ => Vec::new(),
    };
    let actual = type_name(value);
    let admitted = types.is_empty() || types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
    if !admitted {
        return Err(format!("{at}: {actual} where the document says {types:?}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !value.is_null()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match value {
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(doc, item, v, &format!("{at}[{i}]"))?;
                }
            }
        }
        Value::Object(object) => {
            let (mut documented, mut required) = (BTreeMap::new(), Vec::new());
            fields(doc, schema, &mut documented, &mut required)?;
            for key in &required {
                if !object.contains_key(key) {
                    return Err(format!("{at}.{key} is required by the document and not written"));
                }
            }
            let extra = schema.get("additionalProperties");
            for (key, v) in object {
                match (documented.get(key), extra) {
                    (Some(field), _) => check(doc, field, v, &format!("{at}.{key}"))?,
                    (None, Some(Value::Object(_))) => check(doc, extra.expect("matched"), v, &format!("{at}.{key}"))?,
                    (None, _) => return Err(format!("{at}.{key} is written but not documented")),
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_check_finds_missing_extra_mistyped_and_null_fields() {
        let doc = json!({"components": {"schemas": {
            "Names": {"type": "object", "required": ["ar", "en"], "properties": {"ar": {"type": "string"}, "en": {"type": "string"}}},
            "Thing": {"type": "object", "required": ["name"], "properties": {
                "name": {"$ref": "#/components/schemas/Names"},
                "due": {"type": ["string", "null"]},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "n": {"type": "number"}}}}}});
        let ok = json!({"name": {"ar": "x", "en": "y"}, "due": null, "kind": "a", "n": 3});
        assert_eq!(conforms(&doc, "Thing", &ok), Ok(()));
        assert!(conforms(&doc, "Thing", &json!({"due": "x"})).unwrap_err().contains("required"));
        assert!(
            conforms(&doc, "Thing", &json!({"name": {"ar": "x", "en": "y"}, "colour": 1}))
                .unwrap_err()
                .contains("not documented")
        );
        assert!(conforms(&doc, "Thing", &json!({"name": {"ar": "x"}})).unwrap_err().contains("Thing.name.en"));
        assert!(conforms(&doc, "Thing", &json!({"name": {"ar": "x", "en": "y"}, "kind": "c"})).is_err());
        assert!(
            conforms(&doc, "Thing", &json!({"name": {"ar": "x", "en": "y"}, "n": null})).unwrap_err().contains("null")
        );
    }
}
