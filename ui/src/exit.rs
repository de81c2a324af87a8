//! How a device app's process ends: its error as one line on stderr and exit status 1.
//!
//! `fn main() -> anyhow::Result<()>` prints an error with `{:?}`, which adds a stack backtrace
//! whenever `RUST_BACKTRACE` is set; a mistyped flag or a missing file deserves one clear line.
use std::fmt::Display;
use std::process::ExitCode;

/// The exit of `program` after it returned `result`: success, or `program: error: cause: …`
/// (the alternate form, `{:#}`, which anyhow prints as the chain of causes) and status 1.
pub fn exit_code<E: Display>(program: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(program, &e));
            ExitCode::FAILURE
        }
    }
}

/// `program: error: cause: …`, on one line.
pub fn error_line(program: &str, error: &impl Display) -> String {
    let text = format!("{error:#}");
    format!("{program}: {}", text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Chained;

    impl Display for Chained {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if f.alternate() { write!(f, "reading board.json: no such file") } else { write!(f, "reading board.json") }
        }
    }

    #[test]
    fn an_error_is_one_line_with_its_causes() {
        assert_eq!(error_line("dawr-display-board", &Chained), "dawr-display-board: reading board.json: no such file");
        assert_eq!(error_line("dawr-kiosk", &"two\nlines"), "dawr-kiosk: two lines");
    }
}
