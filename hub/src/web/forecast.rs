//! `GET /api/v1/reports/forecast`: the staffing forecast of one day ([`crate::forecast`]) for a
//! manager, and the query it shares with the dashboard's forecast page.
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use chrono::NaiveDate;
use dawr_protocol::api::forecast::Forecast;
use dawr_web::{WebError, WebResult};
use serde::Deserialize;

use super::{AppState, authorization};
use crate::forecast::{Ask, GOAL};

/// Weeks learned from when the query does not say.
pub const DEFAULT_WEEKS: u32 = 4;

/// `?day=&weeks=&extra=&from_hour=` (and `lang` for the page). Blank fields are absent.
#[derive(Debug, Default, Deserialize)]
pub struct ForecastQuery {
    pub lang: Option<String>,
    pub day: Option<String>,
    pub weeks: Option<String>,
    pub extra: Option<String>,
    pub from_hour: Option<String>,
}

/// Why a forecast query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

fn field<T: std::str::FromStr>(
    text: &Option<String>,
    ok: impl Fn(&T) -> bool,
    rule: &str,
) -> Result<Option<T>, BadQuery> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => {
            t.parse::<T>().ok().filter(|v| ok(v)).map(Some).ok_or_else(|| BadQuery(format!("{rule}, not {t:?}")))
        }
    }
}

impl ForecastQuery {
    /// The first field given but blank: the page's form sends its empty fields, the API refuses them.
    pub fn blank_field(&self) -> Option<&'static str> {
        [("day", &self.day), ("weeks", &self.weeks), ("extra", &self.extra), ("from_hour", &self.from_hour)]
            .into_iter()
            .find(|(_, text)| text.as_deref().is_some_and(|t| t.trim().is_empty()))
            .map(|(name, _)| name)
    }

    /// The forecast asked for: `today` by default, [`DEFAULT_WEEKS`], a what-if only when both
    /// `extra` and `from_hour` are given.
    pub fn ask(&self, today: NaiveDate) -> Result<Ask, BadQuery> {
        let day = field::<NaiveDate>(&self.day, |_| true, "day must be a date like 2026-11-29")?.unwrap_or(today);
        let weeks = field::<u32>(&self.weeks, |w| (1..=12).contains(w), "weeks must be 1 to 12")?;
        let extra = field::<u32>(&self.extra, |e| *e <= 50, "extra must be 0 to 50 counters")?;
        let hour = field::<u8>(&self.from_hour, |h| *h <= 23, "from_hour must be an hour 0 to 23")?;
        let what_if = match (extra, hour) {
            (Some(extra), Some(hour)) => Some((extra, hour)),
            (None, None) => None,
            _ => return Err(BadQuery("extra and from_hour go together".into())),
        };
        Ok(Ask { day, weeks: weeks.unwrap_or(DEFAULT_WEEKS), goal: GOAL, what_if })
    }
}

/// The forecast of `ask` for the branch, read off the async workers.
pub async fn compute(state: &AppState, ask: Ask) -> WebResult<Forecast> {
    let branch = state.branch().clone();
    Ok(state.db.read(move |conn| crate::forecast::read::forecast_of(conn, &branch, &ask)).await??)
}

/// The branch's local day now.
pub fn today(state: &AppState) -> NaiveDate {
    crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive()
}

/// `GET /api/v1/reports/forecast?day=&weeks=&extra=&from_hour=` (managers).
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ForecastQuery>,
) -> WebResult<Json<Forecast>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    if let Some(name) = query.blank_field() {
        return Err(WebError::malformed(format!("{name} is blank: give a value or leave it out")));
    }
    let ask = query.ask(today(&state)).map_err(|e| WebError::malformed(e.0))?;
    Ok(Json(compute(&state, ask).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(day: &str, weeks: &str, extra: &str, hour: &str) -> ForecastQuery {
        let some = |t: &str| Some(t.to_string());
        ForecastQuery { lang: None, day: some(day), weeks: some(weeks), extra: some(extra), from_hour: some(hour) }
    }

    #[test]
    fn a_query_is_read_with_its_defaults_and_refused_when_out_of_range() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let ask = query("", "", "", "").ask(today).unwrap();
        assert_eq!((ask.day, ask.weeks, ask.what_if), (today, DEFAULT_WEEKS, None));
        assert_eq!(query("2026-12-06", "8", " ", "10").blank_field(), Some("extra"), "the API refuses it");
        assert_eq!(query("2026-12-06", "8", "2", "10").blank_field(), None);
        let ask = query("2026-12-06", "8", "2", "10").ask(today).unwrap();
        assert_eq!((ask.day.to_string().as_str(), ask.weeks, ask.what_if), ("2026-12-06", 8, Some((2, 10))));
        for bad in
            [query("6/12", "", "", ""), query("", "13", "", ""), query("", "0", "", ""), query("", "", "51", "1")]
        {
            assert!(bad.ask(today).is_err(), "{bad:?}");
        }
        assert!(query("", "", "2", "24").ask(today).is_err());
        assert_eq!(query("", "", "2", "").ask(today).unwrap_err().0, "extra and from_hour go together");
    }
}
