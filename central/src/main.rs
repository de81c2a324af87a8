//! `dawr-central`: see [`dawr_central::cli`].
fn main() -> std::process::ExitCode {
    dawr_central::cli::main()
}
