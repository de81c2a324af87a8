//! `dawr-hub`: see [`dawr_hub::cli`].
fn main() -> std::process::ExitCode {
    dawr_hub::cli::main()
}
