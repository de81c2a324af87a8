//! `dawr-kiosk`: the entrance kiosk (see [`dawr_kiosk::cli`] for its commands).
fn main() -> std::process::ExitCode {
    dawr_kiosk::cli::main()
}
