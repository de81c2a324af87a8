//! Every text a visitor or staff member reads, in Arabic and English, through Fluent.
//!
//! The texts live in `locales/{ar,en}.ftl`, compiled into the binary. Code asks for a key with
//! [`Texts::get`]; nothing user-facing is written as a string literal elsewhere. Arabic is the
//! first language: [`Lang::default`] is Arabic and [`Lang::dir`] says how to lay it out.
//! Placeables are wrapped in Unicode bidi isolates, so a ticket number or counter name inside an
//! Arabic sentence keeps its own direction.
use std::fmt;
use std::str::FromStr;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

const AR: &str = include_str!("../locales/ar.ftl");
const EN: &str = include_str!("../locales/en.ftl");

/// A language Dawr speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Ar,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ar, Lang::En];

    /// The BCP 47 code, for `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
        }
    }

    /// The writing direction, for `dir` attributes and mirrored layouts.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En => "ltr",
        }
    }

    /// The other language (for a language switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ar => Lang::En,
            Lang::En => Lang::Ar,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A language code Dawr does not speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLang(pub String);

impl fmt::Display for UnknownLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown language {:?}: ar or en", self.0)
    }
}

impl std::error::Error for UnknownLang {}

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ar" => Ok(Lang::Ar),
            "en" => Ok(Lang::En),
            other => Err(UnknownLang(other.to_string())),
        }
    }
}

/// All texts in both languages. Cheap to share (`Send + Sync`); build it once.
pub struct Texts {
    ar: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Texts { ar, en }")
    }
}

fn bundle(lang: &str, source: &str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.parse().expect("a valid language id");
    let resource = FluentResource::try_new(source.to_string()).expect("the bundled .ftl files parse");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.add_resource(resource).expect("no duplicate keys in the bundled .ftl files");
    bundle
}

impl Default for Texts {
    fn default() -> Self {
        Self::new()
    }
}

impl Texts {
    pub fn new() -> Self {
        Texts { ar: bundle("ar", AR), en: bundle("en", EN) }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Ar => &self.ar,
            Lang::En => &self.en,
        }
    }

    /// The text for `key` in `lang`, with `args` filled in. A missing key gives the key itself
    /// (and a test makes sure none is missing).
    pub fn get(&self, lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(t) => fluent_args.set(*name, FluentValue::from(*t)),
                Arg::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
            }
        }
        let mut errors = Vec::new();
        bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned()
    }

    /// Every message key of a language (for the parity test and tooling).
    pub fn keys(lang: Lang) -> Vec<String> {
        let source = match lang {
            Lang::Ar => AR,
            Lang::En => EN,
        };
        let resource = FluentResource::try_new(source.to_string()).expect("parses");
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }
}

/// A date in the Umm al-Qura Hijri calendar, the one Saudi government services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HijriDate {
    pub year: i32,
    /// 1 = Muharram … 12 = Dhu al-Hijjah.
    pub month: u8,
    pub day: u8,
}

impl HijriDate {
    /// The Hijri date of a Gregorian date (by ICU4X's Umm al-Qura tables); `None` for an invalid
    /// Gregorian date.
    pub fn from_gregorian(year: i32, month: u8, day: u8) -> Option<HijriDate> {
        let iso = icu_calendar::Date::try_new_iso(year, month, day).ok()?;
        let hijri = iso.to_calendar(icu_calendar::cal::Hijri::new_umm_al_qura());
        Some(HijriDate {
            year: hijri.year().era_year_or_related_iso(),
            month: hijri.month().ordinal,
            day: hijri.day_of_month().0,
        })
    }
}

impl Texts {
    /// A Hijri date in words: `4 جمادى الآخرة 1448 هـ` / `4 Jumada al-Akhirah 1448 AH`.
    pub fn hijri_date(&self, lang: Lang, date: HijriDate) -> String {
        let month = self.get(lang, &format!("hijri-month-{}", date.month), &[]);
        let args = [
            ("day", Arg::Number(f64::from(date.day))),
            ("month", Arg::Text(&month)),
            ("year", Arg::Text(&date.year.to_string())),
        ];
        self.get(lang, "hijri-date", &args)
    }

    /// A Gregorian date in words: `الاثنين 23 نوفمبر 2026 م` / `Monday 23 November 2026`.
    /// `weekday` counts from Monday = 1 to Sunday = 7 (ISO 8601).
    pub fn gregorian_date(&self, lang: Lang, year: i32, month: u8, day: u8, weekday: u8) -> String {
        let month = self.get(lang, &format!("month-{month}"), &[]);
        let weekday = self.get(lang, &format!("weekday-{weekday}"), &[]);
        let args = [
            ("weekday", Arg::Text(&weekday)),
            ("day", Arg::Number(f64::from(day))),
            ("month", Arg::Text(&month)),
            ("year", Arg::Text(&year.to_string())),
        ];
        self.get(lang, "gregorian-date", &args)
    }
}

/// A value for a placeable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unicode bidi isolates around placeables.
    fn plain(s: &str) -> String {
        s.replace(['\u{2068}', '\u{2069}'], "")
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let mut ar = Texts::keys(Lang::Ar);
        let mut en = Texts::keys(Lang::En);
        ar.sort();
        en.sort();
        assert!(!ar.is_empty());
        assert_eq!(ar, en);
    }

    #[test]
    fn texts_are_filled_in_and_plurals_follow_each_language() {
        let t = Texts::new();
        let title = t.get(Lang::Ar, "ticket-page-title", &[("number", Arg::Text("A017"))]);
        assert_eq!(plain(&title), "تذكرتك A017");
        assert!(title.contains('\u{2068}'), "the ticket number is isolated from the Arabic around it");
        let ahead = |lang, n: f64| plain(&t.get(lang, "ticket-status-waiting", &[("ahead", Arg::Number(n))]));
        assert_eq!(ahead(Lang::En, 0.0), "You are next in line.");
        assert_eq!(ahead(Lang::En, 1.0), "One person is ahead of you.");
        assert_eq!(ahead(Lang::En, 4.0), "4 people are ahead of you.");
        assert_eq!(ahead(Lang::Ar, 0.0), "أنت التالي في الدور.");
        assert_eq!(ahead(Lang::Ar, 1.0), "أمامك شخص واحد.");
        assert_eq!(ahead(Lang::Ar, 2.0), "أمامك شخصان.");
        assert_eq!(ahead(Lang::Ar, 5.0), "أمامك 5 أشخاص.");
        assert_eq!(ahead(Lang::Ar, 11.0), "أمامك 11 شخصًا.");
        assert_eq!(ahead(Lang::Ar, 100.0), "أمامك 100 شخص.");
        assert_eq!(t.get(Lang::En, "no-such-key", &[]), "no-such-key");
    }

    /// Dates Saudi Arabia observed by the Umm al-Qura calendar.
    #[test]
    fn hijri_dates_follow_umm_al_qura() {
        let h = |y, m, d| HijriDate::from_gregorian(y, m, d).unwrap();
        assert_eq!(h(2025, 6, 26), HijriDate { year: 1447, month: 1, day: 1 }, "Islamic new year 1447");
        assert_eq!(h(2024, 7, 7), HijriDate { year: 1446, month: 1, day: 1 }, "Islamic new year 1446");
        assert_eq!(h(2025, 3, 1), HijriDate { year: 1446, month: 9, day: 1 }, "Ramadan 1446 began");
        assert_eq!(h(2024, 3, 11), HijriDate { year: 1445, month: 9, day: 1 }, "Ramadan 1445 began");
        assert_eq!(h(2024, 6, 16), HijriDate { year: 1445, month: 12, day: 10 }, "Eid al-Adha 1445");
        assert_eq!(HijriDate::from_gregorian(2025, 2, 30), None);
        assert_eq!(h(2026, 11, 23), HijriDate { year: 1448, month: 6, day: 13 }, "the day this was written");
        let t = Texts::new();
        let date = HijriDate { year: 1446, month: 9, day: 1 };
        assert_eq!(plain(&t.hijri_date(Lang::Ar, date)), "1 رمضان 1446 هـ");
        assert_eq!(plain(&t.hijri_date(Lang::En, date)), "1 Ramadan 1446 AH");
        assert_eq!(plain(&t.gregorian_date(Lang::Ar, 2026, 11, 23, 1)), "الاثنين 23 نوفمبر 2026 م");
        assert_eq!(plain(&t.gregorian_date(Lang::En, 2026, 11, 23, 1)), "Monday 23 November 2026");
    }

    #[test]
    fn languages_parse_and_know_their_direction() {
        assert_eq!("ar".parse::<Lang>().unwrap().dir(), "rtl");
        assert_eq!("en".parse::<Lang>().unwrap().dir(), "ltr");
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::default(), Lang::Ar);
        assert_eq!(Lang::Ar.other(), Lang::En);
    }
}
