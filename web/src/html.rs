//! The HTML both services write: escaping, the page shell (head, bundled fonts, language and
//! direction) and names in the page's language.
//!
//! Pages are [`maud`] templates: every `(value)` spliced into one is escaped, so a value cannot
//! become markup by being forgotten. [`esc`] is for the few places that build text outside a
//! template (a calendar file, a test).
use dawr_i18n::Lang;
use dawr_protocol::api::Names;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A name in the page's language.
pub fn name(names: &Names, lang: Lang) -> &str {
    match lang {
        Lang::Ar => &names.ar,
        Lang::En => &names.en,
    }
}

/// `?lang=ar` or `?lang=en`; Arabic when missing or unknown.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

impl LangQuery {
    pub fn lang(&self) -> Lang {
        parse_lang(self.lang.as_deref()).unwrap_or_default()
    }
}

/// A language code, if it is one of ours.
pub fn parse_lang(text: Option<&str>) -> Option<Lang> {
    text.and_then(|l| l.parse().ok())
}

/// What every page's style sheet starts with: the bundled Noto fonts (Arabic first, so Arabic
/// never falls back to a face without its glyphs) and border-box sizing.
pub const BASE_STYLE: &str = "*{box-sizing:border-box}\
body{font-family:'Noto Sans Arabic','Noto Sans','Segoe UI',Tahoma,sans-serif}";

/// The head of a page.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// The page's own style sheet, after [`BASE_STYLE`].
    pub style: &'static str,
    /// Asks search engines not to index the page (pages behind a secret or a sign-in).
    pub noindex: bool,
    /// Reloads the page (or goes to the address) after this many seconds.
    pub refresh: Option<(u32, &'a str)>,
}

impl<'a> Head<'a> {
    pub fn new(lang: Lang, title: &'a str, style: &'static str) -> Self {
        Head { lang, title, style, noindex: false, refresh: None }
    }

    pub fn noindex(self) -> Self {
        Head { noindex: true, ..self }
    }

    pub fn refresh(self, seconds: u32, to: &'a str) -> Self {
        Head { refresh: Some((seconds, to)), ..self }
    }
}

/// A whole page: the shell in the page's language and direction around `body`.
pub fn page(head: Head<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(head.lang.code()) dir=(head.lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if head.noindex { meta name="robots" content="noindex"; }
                @if let Some((seconds, to)) = head.refresh {
                    meta http-equiv="refresh" content={ (seconds) "; url=" (to) };
                }
                title { (head.title) }
                style { (PreEscaped(BASE_STYLE)) (PreEscaped(head.style)) }
            }
            body { (body) }
        }
    }
}

/// The link to the same page in the other language.
pub fn switch_language(lang: Lang, href: &str, label: &str) -> Markup {
    let other = lang.other().code();
    html! { a href=(href) lang=(other) hreflang=(other) { (label) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_has_the_language_direction_and_escapes_the_title() {
        let page = page(Head::new(Lang::Ar, "<b>&", "p{}").noindex(), html! { p { "x" } }).into_string();
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"ar\" dir=\"rtl\">"), "{page}");
        assert!(page.contains("<title>&lt;b&gt;&amp;</title>"));
        assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(page.contains("'Noto Sans Arabic'"));
        let en = super::page(Head::new(Lang::En, "t", "").refresh(6, "/x?a=1&b=2"), html! {}).into_string();
        assert!(en.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert!(en.contains("content=\"6; url=/x?a=1&amp;b=2\""), "{en}");
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
