//! What both services' TOML files share: reading and parsing one, and the branch's UTC offset.
use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use serde::de::DeserializeOwned;

/// A configuration file that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Every mistake found, each with its place: one line, the mistakes joined by `; `.
    #[error("{}", Problem::list(path, problems))]
    Parse { path: PathBuf, problems: Vec<Problem> },
}

impl FileError {
    /// The mistakes of a file that was read but not understood (none for a file not read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            FileError::Read { .. } => &[],
            FileError::Parse { problems, .. } => problems,
        }
    }
}

/// One mistake in a TOML file: where it is (1-based line and column), the key there
/// (`[section] key`), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// The table and key at that place, e.g. `[hub] http` or `[[services]] target_wait_min`.
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl Problem {
    /// `path:line:col: key: message`, for each problem, joined by `; `.
    fn list(path: &Path, problems: &[Problem]) -> String {
        let each: Vec<String> = problems.iter().map(|p| format!("{}:{p}", path.display())).collect();
        each.join("; ")
    }

    /// The problem toml reported, placed by its span in `text`.
    fn of(error: &toml::de::Error, text: &str) -> Problem {
        let at = error.span().map_or(0, |s| s.start.min(text.len()));
        let (line, column) = line_and_column(text, at);
        let message = error.message().split_whitespace().collect::<Vec<_>>().join(" ");
        Problem { line, column, key: key_at(text, line), message }
    }
}

/// The 1-based line and column (in characters) of byte `at` of `text`.
fn line_and_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(at)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The table header above 1-based `line` and the key on it, as `[table] key`.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let header = lines[..line.saturating_sub(1)]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|h| h.split('#').next().unwrap_or(h).trim().to_string());
    if here.starts_with('[') {
        return Some(here.split('#').next().unwrap_or(here).trim().to_string());
    }
    let key = here.split_once('=').map(|(k, _)| k.trim().to_string()).filter(|k| !k.is_empty());
    match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h} {k}")),
        (None, Some(k)) => Some(k),
        (Some(h), None) => Some(h),
        (None, None) => None,
    }
}

/// Reads and parses the TOML file at `path`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read { path: path.into(), source })?;
    parse_toml(&text, path)
}

/// Parses `text`, the TOML file at `path` (named in errors), reporting every mistake it can
/// find: a syntax error stops the reading (nothing after it can be trusted); a key that is
/// unknown or has a wrong value is set aside (its line commented out) and the file read again,
/// so the next such key is found too. A mistake that spans more than one line (e.g. a missing
/// key of a table) ends the search, and a required key set aside is not reported again as
/// missing.
pub fn parse_toml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, FileError> {
    const MAX_PROBLEMS: usize = 50;
    let mut problems = Vec::new();
    let mut work = text.to_string();
    let mut aside: Vec<String> = Vec::new();
    while problems.len() < MAX_PROBLEMS {
        if let Err(syntax) = toml::from_str::<toml::Table>(&work) {
            // After a line was set aside, a syntax error is of our making (a value over lines).
            if problems.is_empty() {
                problems.push(Problem::of(&syntax, &work));
            }
            break;
        }
        let error = match toml::from_str::<T>(&work) {
            Ok(value) if problems.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error,
        };
        let problem = Problem::of(&error, &work);
        // A required key that was set aside is now missing: that is the same mistake again.
        if aside.iter().any(|key| problem.message.starts_with(&format!("missing field `{key}`"))) {
            break;
        }
        let one_line = error.span().is_some_and(|s| !work[s.clone()].contains('\n'));
        let (line, key) = (problem.line, problem.key.clone());
        problems.push(problem);
        if !one_line || !set_aside(&mut work, line) {
            break;
        }
        aside.extend(key.and_then(|k| k.rsplit(' ').next().map(str::to_string)));
    }
    // In the file's order (the deserialiser finds them in its own).
    problems.sort_by_key(|p| (p.line, p.column));
    Err(FileError::Parse { path: path.into(), problems })
}

/// Comments out 1-based `line` of `text` if it is a `key = value` line; says whether it did.
fn set_aside(text: &mut String, line: usize) -> bool {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let Some(here) = lines.get_mut(line - 1) else { return false };
    let trimmed = here.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('#') || !trimmed.contains('=') {
        return false;
    }
    *here = format!("# {here}");
    *text = lines.join("\n");
    true
}

/// Reads `+03:00` / `-05:30` (hours up to 14).
pub fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_have_a_sign_hours_and_minutes() {
        assert_eq!(parse_offset("+03:00").unwrap().local_minus_utc(), 3 * 3600);
        assert_eq!(parse_offset("-05:30").unwrap().local_minus_utc(), -(5 * 3600 + 1800));
        for bad in ["03:00", "+3", "+15:00", "+03:60", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        let missing = read_toml::<toml::Table>(Path::new("/nonexistent.toml")).unwrap_err();
        assert!(missing.to_string().starts_with("cannot read /nonexistent.toml"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        #[serde(default)]
        hub: Hub,
        #[serde(default)]
        services: Vec<Service>,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Hub {
        http: String,
        poll_s: f64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Service {
        code: String,
        #[serde(default)]
        target_wait_min: f64,
    }

    #[test]
    fn every_mistake_is_reported_with_its_line_column_and_key_on_one_line() {
        let text = "[hub]\nhtp = \"x\"\npoll_s = \"often\"\n\n[[services]]\ncode = \"A\"\ntarget_wait_min = true\n";
        let error = parse_toml::<File>(text, Path::new("b.toml")).unwrap_err();
        let problems = error.problems();
        let places: Vec<(usize, usize, Option<&str>)> =
            problems.iter().map(|p| (p.line, p.column, p.key.as_deref())).collect();
        assert_eq!(
            places,
            [(2, 1, Some("[hub] htp")), (3, 10, Some("[hub] poll_s")), (7, 19, Some("[[services]] target_wait_min"))],
            "{error}"
        );
        assert!(problems[0].message.contains("unknown field `htp`"), "{error}");
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("b.toml:2:1: [hub] htp: unknown field `htp`"), "{line}");
        assert!(line.contains("; b.toml:3:10: [hub] poll_s: invalid type: string \"often\""), "{line}");

        let syntax = parse_toml::<File>("[hub]\nhttp = \n", Path::new("b.toml")).unwrap_err();
        assert_eq!(syntax.problems().len(), 1, "{syntax}");
        assert_eq!((syntax.problems()[0].line, syntax.problems()[0].key.as_deref()), (2, Some("[hub] http")));
        let missing = parse_toml::<File>("[[services]]\ntarget_wait_min = 3\n", Path::new("b.toml")).unwrap_err();
        assert!(missing.to_string().contains("missing field `code`"), "{missing}");
        let wrong = parse_toml::<File>("[[services]]\ncode = 1\n", Path::new("b.toml")).unwrap_err();
        assert_eq!(wrong.problems().len(), 1, "a required key set aside is not also missing: {wrong}");
        assert!(parse_toml::<File>("[hub]\nhttp = \"a\"\n", Path::new("b.toml")).is_ok());
    }
}
