//! What a citizen types, checked and normalised: name, national ID or iqama number, Saudi mobile.
//!
//! Pure functions. Arabic-Indic digits (`٠١٢…`, as Arabic phone keyboards type them) are read
//! as ASCII digits, spaces and dashes are ignored, and each field's error is a [`FieldError`]
//! whose [`FieldError::key`] is the `dawr-i18n` text shown beside the field.

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("the name is missing")]
    NameMissing,
    #[error("the name is longer than 100 characters")]
    NameTooLong,
    #[error("a national ID or iqama number has 10 digits and starts with 1 or 2")]
    IdFormat,
    #[error("the national ID or iqama number's check digit is wrong")]
    IdCheckDigit,
    #[error("a Saudi mobile number is 05xxxxxxxx or +9665xxxxxxxx")]
    Phone,
}

impl FieldError {
    /// The `dawr-i18n` key of the message shown to the citizen.
    pub fn key(self) -> &'static str {
        match self {
            FieldError::NameMissing => "appt-error-name-missing",
            FieldError::NameTooLong => "appt-error-name-long",
            FieldError::IdFormat => "appt-error-id-format",
            FieldError::IdCheckDigit => "appt-error-id-check",
            FieldError::Phone => "appt-error-phone",
        }
    }
}

/// ASCII digits for Arabic-Indic and Eastern Arabic-Indic ones; other characters unchanged.
fn ascii_digit(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        c => c,
    }
}

/// The input with digits made ASCII and spaces, dashes and bidi marks dropped.
fn compact(input: &str) -> String {
    input
        .chars()
        .map(ascii_digit)
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '\u{200E}' | '\u{200F}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// A trimmed name of 1 to 100 characters with inner runs of spaces collapsed.
pub fn name(input: &str) -> Result<String, FieldError> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(FieldError::NameMissing),
        1..=100 if !name.chars().any(char::is_control) => Ok(name),
        1..=100 => Err(FieldError::NameMissing),
        _ => Err(FieldError::NameTooLong),
    }
}

/// True when the digits pass the Luhn check (the last digit is the check digit).
pub fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The check digit that completes nine digits into a valid 10-digit number.
pub fn check_digit(first_nine: &[u8; 9]) -> u8 {
    (0..10u8)
        .find(|&d| {
            let mut all = first_nine.to_vec();
            all.push(d);
            luhn_ok(&all)
        })
        .expect("one of ten digits completes a Luhn number")
}

/// A valid ID number from a nine-digit prefix (tests and the bench make citizens with it).
pub fn national_id_from(prefix: u32, resident: bool) -> String {
    let head = format!("{}{:08}", if resident { 2 } else { 1 }, prefix % 100_000_000);
    let nine: [u8; 9] = std::array::from_fn(|i| head.as_bytes()[i] - b'0');
    format!("{head}{}", check_digit(&nine))
}

/// A Saudi national ID (starts with 1) or iqama number (starts with 2): 10 digits, Luhn check.
pub fn national_id(input: &str) -> Result<String, FieldError> {
    let id = compact(input);
    if id.len() != 10 || !id.bytes().all(|b| b.is_ascii_digit()) || !matches!(id.as_bytes()[0], b'1' | b'2') {
        return Err(FieldError::IdFormat);
    }
    let digits: Vec<u8> = id.bytes().map(|b| b - b'0').collect();
    if !luhn_ok(&digits) {
        return Err(FieldError::IdCheckDigit);
    }
    Ok(id)
}

/// A Saudi mobile number, as `+9665xxxxxxxx`, from `05xxxxxxxx`, `5xxxxxxxx`, `9665…`,
/// `+9665…` or `009665…`.
pub fn phone(input: &str) -> Result<String, FieldError> {
    let p = compact(input).replace(['(', ')'], "");
    let national = if let Some(rest) = p.strip_prefix("+966") {
        rest
    } else if let Some(rest) = p.strip_prefix("00966") {
        rest
    } else if let Some(rest) = p.strip_prefix("966").filter(|r| r.len() == 9) {
        rest
    } else if let Some(rest) = p.strip_prefix('0') {
        rest
    } else {
        &p
    };
    if national.len() == 9 && national.starts_with('5') && national.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("+966{national}"))
    } else {
        Err(FieldError::Phone)
    }
}

/// An ID number with all but its last four characters hidden, for pages and logs.
pub fn masked_id(id: &str) -> String {
    let hidden = id.chars().count().saturating_sub(4);
    id.chars().enumerate().map(|(i, c)| if i < hidden { '•' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_ids_need_ten_digits_a_1_or_2_and_a_right_check_digit() {
        assert_eq!(national_id("1000000008"), Ok("1000000008".into()));
        assert_eq!(national_id(" 1000 000 008 "), Ok("1000000008".into()), "spaces are ignored");
        assert_eq!(national_id("١٠٠٠٠٠٠٠٠٨"), Ok("1000000008".into()), "Arabic-Indic digits");
        assert_eq!(national_id("1000000009"), Err(FieldError::IdCheckDigit));
        assert_eq!(national_id("3000000004"), Err(FieldError::IdFormat), "neither citizen nor resident");
        assert_eq!(national_id("100000000"), Err(FieldError::IdFormat));
        assert_eq!(national_id("10000000080"), Err(FieldError::IdFormat));
        assert_eq!(national_id("10000a0008"), Err(FieldError::IdFormat));
        assert_eq!(national_id(""), Err(FieldError::IdFormat));
        // Every prefix completes to a valid number, and changing any one digit breaks it.
        for prefix in [0, 1, 12_345_678, 99_999_999] {
            for resident in [false, true] {
                let id = national_id_from(prefix, resident);
                assert_eq!(national_id(&id), Ok(id.clone()));
                assert_eq!(id.starts_with('2'), resident);
                for pos in 1..10 {
                    let mut bytes = id.clone().into_bytes();
                    bytes[pos] = b'0' + (bytes[pos] - b'0' + 1) % 10;
                    let changed = String::from_utf8(bytes).unwrap();
                    assert_eq!(national_id(&changed), Err(FieldError::IdCheckDigit), "{changed}");
                }
            }
        }
    }

    #[test]
    fn luhn_is_the_standard_one() {
        assert!(luhn_ok(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]), "the textbook example 79927398713");
        assert!(!luhn_ok(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 0]));
        assert_eq!(check_digit(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), 8);
    }

    #[test]
    fn saudi_mobiles_in_every_usual_spelling_become_international() {
        for input in ["0551234567", "055 123 4567", "+966551234567", "966551234567", "00966551234567", "٠٥٥١٢٣٤٥٦٧"]
        {
            assert_eq!(phone(input), Ok("+966551234567".into()), "{input}");
        }
        for bad in ["0451234567", "055123456", "05512345678", "+966451234567", "+971551234567", "abc", ""] {
            assert_eq!(phone(bad), Err(FieldError::Phone), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  نورة   الشمري "), Ok("نورة الشمري".into()));
        assert_eq!(name("   "), Err(FieldError::NameMissing));
        assert_eq!(name(&"م".repeat(101)), Err(FieldError::NameTooLong));
        assert_eq!(name(&"م".repeat(100)).map(|n| n.chars().count()), Ok(100));
        assert_eq!(masked_id("1000000008"), "••••••0008");
        assert_eq!(masked_id("١٢"), "١٢");
    }

    proptest::proptest! {
        /// Whatever is typed, the checks answer (never panic), and what they accept is canonical.
        #[test]
        fn any_input_is_answered_and_accepted_values_are_canonical(
            input in proptest::prop_oneof!["\\PC{0,40}", "[0-9٠-٩ +()-]{0,16}", "(05|\\+9665)[0-9]{8}", "[12][0-9]{9}"]
        ) {
            if let Ok(id) = national_id(&input) {
                proptest::prop_assert!(id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert_eq!(national_id(&id), Ok(id.clone()));
            }
            if let Ok(p) = phone(&input) {
                proptest::prop_assert!(p.starts_with("+9665") && p.len() == 13);
                proptest::prop_assert_eq!(phone(&p), Ok(p.clone()));
            }
            if let Ok(n) = name(&input) {
                proptest::prop_assert_eq!(name(&n), Ok(n.clone()));
            }
            let _ = masked_id(&input);
        }

        #[test]
        fn every_generated_id_is_valid(prefix in 0u32..100_000_000, resident: bool) {
            let id = national_id_from(prefix, resident);
            proptest::prop_assert_eq!(national_id(&id), Ok(id.clone()));
        }
    }
}
