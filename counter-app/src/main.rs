//! `dawr-counter`: the counter staff's desk app (see [`dawr_counter_app::cli`] for its commands).
fn main() -> std::process::ExitCode {
    dawr_counter_app::cli::main()
}
