//! The kiosk exactly as `dawr-kiosk` runs it, built inside the test crate so the end-to-end tests
//! can run its commands (`screenshot`) as a real process.
fn main() -> std::process::ExitCode {
    dawr_kiosk::cli::main()
}
