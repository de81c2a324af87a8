//! The hub's OpenAPI document says the same as the wire types: every example body of
//! `dawr_protocol::api::examples` fits the schema the document gives it (each field documented
//! with its type, every required field written, `null` only where documented).
use dawr_protocol::api::examples;
use serde_json::Value;

fn fits(name: &str, body: impl serde::Serialize) {
    let doc: Value = serde_json::from_str(dawr_hub::web::api::OPENAPI_JSON).expect("the document is JSON");
    let body = serde_json::to_value(body).expect("the example serialises");
    if let Err(e) = examples::conforms(&doc, name, &body) {
        panic!("{name} in openapi.json does not fit the type: {e}\n{body}");
    }
}

#[test]
fn the_documented_schemas_are_the_types_bodies() {
    fits("SignIn", examples::sign_in());
    fits("Session", examples::session());
    fits("Case", examples::case());
    fits("Case", examples::case_in_progress());
    fits("CaseDetail", examples::case_detail());
    fits("CaseUpdate", examples::case_update());
    fits("StaffToday", examples::staff_today());
    fits("Summary", examples::summary());
    fits("SlaReport", examples::sla_report());
    fits("PeriodsReport", examples::periods_report());
    fits("Forecast", examples::forecast());
    fits("NewAction", examples::new_action());
    fits("ActionUpdate", examples::action_update());
    fits("CorrectiveActions", examples::corrective_actions());
    fits("FirmwareOverview", examples::firmware_overview());
    fits("NewRollout", examples::new_rollout());
    fits("DeviceInfo", examples::button_updating());
    fits("Forecast", dawr_protocol::api::forecast::Forecast { what_if: None, ..examples::forecast() });
    fits("CaseReport", examples::case_report());
    fits("CrmStatus", examples::crm_status());
    fits("SmsStatus", examples::sms_status());
    fits("SmsSend", examples::sms_send());
    fits("SmsQueued", examples::sms_queued());
    fits("SmsSubscribe", examples::sms_subscribe());
    fits("SmsSubscribed", examples::sms_subscribed());
    fits("IssueTicket", examples::issue_ticket_with_sms());
    fits("Checkin", examples::check_in());
    fits("HeldBooking", examples::held_booking());
    fits("PersonQuery", examples::person_query());
    fits("PersonalDataExport", examples::personal_data_export());
    fits("ErasureReport", examples::erasure_report());
    fits("AuditPage", examples::audit_page());
    fits("CloseDay", examples::close_day());
    fits("DayClosure", examples::day_closure());
    fits("DayClosures", examples::day_closures());
}

#[test]
fn a_field_the_document_does_not_know_is_caught() {
    let mut session = serde_json::to_value(examples::session()).unwrap();
    session["colour"] = "red".into();
    let doc: Value = serde_json::from_str(dawr_hub::web::api::OPENAPI_JSON).unwrap();
    assert!(examples::conforms(&doc, "Session", &session).is_err());
}
