//! The appointments site exactly as `dawr-appointments` runs it, built inside the test crate so
//! the end-to-end tests can start and stop it as a real process.
fn main() -> std::process::ExitCode {
    dawr_appointments::cli::main()
}
