//! Who a person is for matching — pure: an ID number or a mobile in one canonical form, so a
//! mobile typed `0501234567` at the counter and `+966 50 123 4567` in a manager's request hash
//! the same.
use crate::cases::change::normalize_visitor;

/// The canonical form of a visitor's ID or mobile (as the keyed hash takes it): digits, Saudi
/// mobiles as `+9665…`. `None` for a blank text; `Err` for one that is neither.
pub fn canonical(text: &str) -> Result<Option<String>, &'static str> {
    let Some(kept) = normalize_visitor(text).map_err(|_| "an ID number or a mobile number (digits)")? else {
        return Ok(None);
    };
    let digits = kept.trim_start_matches('+');
    let mobile = if let Some(rest) = digits.strip_prefix("9665") {
        Some(rest)
    } else if let Some(rest) = digits.strip_prefix("05") {
        Some(rest)
    } else {
        digits.strip_prefix('5').filter(|rest| rest.len() == 8)
    };
    Ok(Some(match mobile {
        Some(rest) if rest.len() == 8 => format!("+9665{rest}"),
        _ => kept,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mobile_is_one_form_however_it_was_typed() {
        for typed in ["0501234567", "+966 50 123 4567", "966501234567", "501234567", "050-123-4567"] {
            assert_eq!(canonical(typed), Ok(Some("+966501234567".into())), "{typed}");
        }
        assert_eq!(canonical("1012-345-678"), Ok(Some("1012345678".into())), "an ID stays itself");
        assert_eq!(canonical("2123456789"), Ok(Some("2123456789".into())), "an iqama too");
        assert_eq!(canonical("  "), Ok(None));
        assert!(canonical("abc").is_err());
    }
}
