//! The counter app exactly as `dawr-counter` runs it, built inside the test crate so the
//! end-to-end tests can run its commands (`screenshot`) as a real process.
fn main() -> std::process::ExitCode {
    dawr_counter_app::cli::main()
}
