//! `dawr-counter`: the counter staff's desk app (see [`dawr_counter_app::cli`] for its commands).
fn main() -> anyhow::Result<()> {
    dawr_counter_app::cli::main()
}
