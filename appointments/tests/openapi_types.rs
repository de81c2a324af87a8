//! The site's OpenAPI document says the same as the wire types: every example body of
//! `dawr_protocol::api::examples` the site sends or reads fits the schema the document gives it.
use dawr_protocol::api::{ApiError, examples};
use serde_json::Value;

fn fits(name: &str, body: impl serde::Serialize) {
    let doc: Value = serde_json::from_str(dawr_appointments::api::OPENAPI_JSON).expect("the document is JSON");
    let body = serde_json::to_value(body).expect("the example serialises");
    if let Err(e) = examples::conforms(&doc, name, &body) {
        panic!("{name} in openapi.json does not fit the type: {e}\n{body}");
    }
}

#[test]
fn the_documented_schemas_are_the_types_bodies() {
    fits("Health", examples::site_health());
    fits("Branch", examples::site_branch());
    fits("Service", examples::site_service());
    fits("Slots", examples::slots());
    fits("BookingRequest", examples::booking_request());
    fits("Citizen", examples::citizen());
    fits("BookingHold", examples::booking_hold());
    fits("CodeConfirmation", examples::code_confirmation());
    fits("WaitingListJoin", examples::waiting_list_join());
    fits("WaitingListEntry", examples::waiting_list_entry());
    fits("Reschedule", examples::reschedule());
    fits("Booking", examples::booking());
    fits("HubBooking", examples::hub_booking());
    fits("Report", examples::booking_report());
    fits("PersonQuery", examples::person_query());
    fits("BookingsExport", examples::bookings_export());
    fits("BookingsErasure", examples::bookings_erasure());
    fits("BranchClosure", examples::branch_closure());
    fits("ClosureApplied", examples::closure_applied());
    let refused = ApiError { field: Some("national_id".into()), ..ApiError::new("invalid_field", "national_id: …") };
    fits("ApiError", refused);
}
