//! The centre exactly as `dawr-central` runs it, built inside the test crate so the end-to-end
//! tests can start it as a real process (and `kill -9` it).
fn main() -> std::process::ExitCode {
    dawr_central::cli::main()
}
