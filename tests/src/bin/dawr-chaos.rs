//! `dawr-chaos --minutes N --seed S [--broker mosquitto|embedded] [--midnight]`: the long run of
//! the chaos harness (issue #17); prints its table and exits non-zero on any anomaly.
use anyhow::{Result, bail};
use dawr_e2e::chaos::{Broker, Options, run};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut minutes, mut seed, mut broker, mut midnight) = (10.0, 1u64, Broker::Mosquitto, false);
    let mut no_disk_full = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--minutes" => minutes = args.next().unwrap_or_default().parse()?,
            "--seed" => seed = args.next().unwrap_or_default().parse()?,
            "--broker" => {
                broker = match args.next().as_deref() {
                    Some("embedded") => Broker::Embedded,
                    Some("mosquitto") => Broker::Mosquitto,
                    other => bail!("--broker mosquitto|embedded, not {other:?}"),
                }
            }
            "--midnight" => midnight = true,
            "--no-disk-full" => no_disk_full = true,
            other => bail!(
                "unknown argument {other:?}; usage: dawr-chaos --minutes N --seed S [--broker mosquitto|embedded] [--midnight] [--no-disk-full]"
            ),
        }
    }
    let mut options = Options::new(minutes * 60.0, seed, broker);
    options.disk_full = !no_disk_full;
    if midnight {
        options.midnight_after_s = Some(options.seconds / 2.0);
    }
    let outcome = run(options).await?;
    println!("{}", outcome.table);
    if !outcome.anomalies.is_empty() {
        bail!("{} anomalies", outcome.anomalies.len());
    }
    Ok(())
}
