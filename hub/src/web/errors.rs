//! How the hub's own errors become the web's one error type, so handlers use `?`.
use axum::http::StatusCode;
use dawr_protocol::device::ErrorCode;
use dawr_web::WebError;

use crate::auth::AuthError;
use crate::cases::CaseError;
use crate::engine::{EngineGone, Failure};

/// The HTTP status for a refusal.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed => StatusCode::BAD_REQUEST,
        ErrorCode::UnknownCounter | ErrorCode::UnknownService | ErrorCode::UnknownTicket => StatusCode::NOT_FOUND,
        ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::NotWaiting
        | ErrorCode::NotServedHere
        | ErrorCode::NoCurrentVisitor
        | ErrorCode::VisitorAtCounter
        | ErrorCode::WrongState
        | ErrorCode::CounterPaused
        | ErrorCode::CounterClosed
        | ErrorCode::ServiceClosed
        | ErrorCode::NothingToRate
        | ErrorCode::AlreadyRated
        | ErrorCode::ReasonAlreadyGiven
        | ErrorCode::IdReused => StatusCode::CONFLICT,
        ErrorCode::UnknownRating => StatusCode::NOT_FOUND,
        // Only the MQTT gate answers it (over HTTP the device is the login).
        ErrorCode::WrongDevice => StatusCode::FORBIDDEN,
    }
}

/// An error code's name on the wire (`no_current_visitor`).
pub(super) fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl From<Failure> for WebError {
    fn from(f: Failure) -> Self {
        WebError::new(status_for(f.code), code_name(f.code), f.message)
    }
}

impl From<EngineGone> for WebError {
    fn from(e: EngineGone) -> Self {
        WebError::shutting_down(e)
    }
}

impl From<AuthError> for WebError {
    fn from(e: AuthError) -> Self {
        let (status, code) = match &e {
            AuthError::Throttled { retry_after_s } => {
                return WebError::too_many("too_many_attempts", e.to_string(), *retry_after_s);
            }
            AuthError::Busy(_) => return WebError::too_many("busy", e.to_string(), 1),
            AuthError::Storage(_) => return WebError::storage(e),
            AuthError::Refused(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AuthError::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            AuthError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AuthError::NotAssigned { .. } => (StatusCode::FORBIDDEN, "not_assigned"),
            AuthError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        };
        WebError::new(status, code, e.to_string())
    }
}

impl From<CaseError> for WebError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::Unknown(_) => WebError::not_found("not_found", e.to_string()),
            CaseError::Invalid(_) => WebError::malformed(e.to_string()),
            CaseError::Storage(_) => WebError::storage(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_client_or_unavailable_status_and_its_name() {
        for code in ErrorCode::ALL {
            let status = status_for(code);
            if code == ErrorCode::StorageUnavailable {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "retry later");
            } else {
                assert!(status.is_client_error(), "{code:?}: {status}");
            }
            let name = code_name(code);
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code:?}: {name}");
            assert_eq!(serde_json::from_value::<ErrorCode>(serde_json::json!(name)).unwrap(), code);
        }
        assert_eq!(code_name(ErrorCode::NoCurrentVisitor), "no_current_visitor");
    }
}
