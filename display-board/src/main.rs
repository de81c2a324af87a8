//! `dawr-display-board`: the overhead board (see [`dawr_display_board::cli`] for its commands).
fn main() -> std::process::ExitCode {
    dawr_display_board::cli::main()
}
