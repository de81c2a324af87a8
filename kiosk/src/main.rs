//! `dawr-kiosk`: the entrance kiosk (see [`dawr_kiosk::cli`] for its commands).
fn main() -> anyhow::Result<()> {
    dawr_kiosk::cli::main()
}
