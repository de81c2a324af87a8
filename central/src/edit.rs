//! A branch's configuration edited on the central dashboard (pure): the form's fields onto the
//! configuration the branch runs from the centre, and what changed, in words for the record.
//!
//! The form names its fields `closes` (the branch's closing time, `HH:MM`, empty for none
//! from the centre), and per service `{code}.name_ar`, `{code}.name_en` and
//! `{code}.target_wait_min`. A field not sent keeps its value; the services and counters
//! themselves (which exist, which counter serves which) change by `config push`.
use dawr_hub::config::CentreConfig;

/// Why a form cannot be applied (each names the field).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("{field}: a closing time is HH:MM, like 16:00")]
    Closes { field: String },
    #[error("{field}: a name cannot be empty")]
    EmptyName { field: String },
    #[error("{field}: the target wait is minutes between 0 and 600")]
    Target { field: String },
    #[error("{field}: no such field")]
    Unknown { field: String },
}

/// `centre` with the form's values; the changes as lines (`field: old → new`), none if the form
/// changes nothing.
pub fn apply(centre: &CentreConfig, form: &[(String, String)]) -> Result<(CentreConfig, Vec<String>), EditError> {
    let mut edited = centre.clone();
    let mut changes = Vec::new();
    let mut note = |field: &str, old: &str, new: &str| {
        if old != new {
            changes.push(format!("{field}: {old} → {new}"));
        }
    };
    for (field, value) in form {
        let value = value.trim();
        if field == "closes" {
            let new = if value.is_empty() { None } else { Some(closing_time(field, value)?) };
            note(field, edited.closes.as_deref().unwrap_or("—"), new.as_deref().unwrap_or("—"));
            edited.closes = new;
            continue;
        }
        let Some((code, part)) = field.split_once('.') else {
            return Err(EditError::Unknown { field: field.clone() });
        };
        let Some(service) = edited.services.iter_mut().find(|s| s.code == code) else {
            return Err(EditError::Unknown { field: field.clone() });
        };
        match part {
            "name_ar" | "name_en" => {
                if value.is_empty() {
                    return Err(EditError::EmptyName { field: field.clone() });
                }
                let name = if part == "name_ar" { &mut service.name.ar } else { &mut service.name.en };
                note(field, name, value);
                *name = value.to_string();
            }
            "target_wait_min" => {
                let minutes: f64 = value.parse().map_err(|_| EditError::Target { field: field.clone() })?;
                if !(0.0..=600.0).contains(&minutes) {
                    return Err(EditError::Target { field: field.clone() });
                }
                note(field, &service.target_wait_min.to_string(), &minutes.to_string());
                service.target_wait_min = minutes;
            }
            _ => return Err(EditError::Unknown { field: field.clone() }),
        }
    }
    Ok((edited, changes))
}

/// `HH:MM`, 00:00 to 23:59, as written.
fn closing_time(field: &str, value: &str) -> Result<String, EditError> {
    let bad = || EditError::Closes { field: field.to_string() };
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || value.len() != 5 {
        return Err(bad());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use dawr_hub::config::Config;

    use super::*;

    fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields.iter().map(|(f, v)| (f.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_services_name_and_target_and_the_closing_time_change_and_are_told() {
        let centre = CentreConfig::of(&Config::demo());
        let code = centre.services[0].code.clone();
        let (edited, changes) = apply(
            &centre,
            &form(&[
                ("closes", "15:30"),
                (&format!("{code}.name_en"), "Renewals"),
                (&format!("{code}.target_wait_min"), "7"),
                (&format!("{code}.name_ar"), &centre.services[0].name.ar),
            ]),
        )
        .unwrap();
        assert_eq!(edited.closes.as_deref(), Some("15:30"));
        assert_eq!((edited.services[0].name.en.as_str(), edited.services[0].target_wait_min), ("Renewals", 7.0));
        assert_eq!(changes.len(), 3, "the unchanged Arabic name is not a change: {changes:?}");
        assert!(changes.contains(&format!("{code}.target_wait_min: {} → 7", centre.services[0].target_wait_min)));
        assert_eq!(apply(&centre, &form(&[])).unwrap().1, Vec::<String>::new());
    }

    #[test]
    fn bad_fields_are_refused_by_name() {
        let centre = CentreConfig::of(&Config::demo());
        let code = centre.services[0].code.clone();
        let refused = |fields: &[(&str, &str)]| apply(&centre, &form(fields)).unwrap_err();
        assert!(matches!(refused(&[("closes", "25:00")]), EditError::Closes { .. }));
        assert!(matches!(refused(&[("closes", "4pm")]), EditError::Closes { .. }));
        assert!(matches!(refused(&[(&format!("{code}.name_ar"), " ")]), EditError::EmptyName { .. }));
        assert!(matches!(refused(&[(&format!("{code}.target_wait_min"), "-1")]), EditError::Target { .. }));
        assert!(matches!(refused(&[(&format!("{code}.target_wait_min"), "soon")]), EditError::Target { .. }));
        assert!(matches!(refused(&[("ZZ.name_en", "x")]), EditError::Unknown { .. }));
        assert!(matches!(refused(&[("staff", "x")]), EditError::Unknown { .. }));
    }
}
