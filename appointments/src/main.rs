//! `dawr-appointments`: see [`dawr_appointments::cli`].
fn main() -> std::process::ExitCode {
    dawr_appointments::cli::main()
}
