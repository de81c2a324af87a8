//! Prints how the queue and the printed wait estimate behave on simulated days.
//!
//! `cargo run --release -p dawr-hub --bin dawr-sim [days]`
use dawr_hub::simulation::{Scenario, erlang_c_wait_s, run};

fn main() {
    let days: u32 = std::env::args().nth(1).and_then(|d| d.parse().ok()).unwrap_or(60);
    println!("M/M/c check: 120 arrivals/h, 8 min mean service, 18 counters, 2,000 hours without a break");
    let long = Scenario { arrivals_per_hour: vec![120.0; 2000], days: 1, ..Scenario::steady(1) };
    let report = run(&long);
    let expected = erlang_c_wait_s(120.0, 480.0, 18);
    println!(
        "  simulated mean wait {:.1} s, Erlang C {:.1} s ({:+.1}%), {} visitors, utilisation {:.3}",
        report.mean_wait_s,
        expected,
        (report.mean_wait_s / expected - 1.0) * 100.0,
        report.visitors,
        report.utilisation
    );
    println!();
    println!("Printed estimate against actual wait, {days} simulated 8-hour days per scenario:");
    println!(
        "  {:<18} {:>9} {:>10} {:>10} {:>9} {:>9} {:>9} {:>15}",
        "scenario", "visitors", "mean wait", "p90 wait", "MAE", "MAE/mean", "in range", "known-mean MAE"
    );
    for scenario in [Scenario::steady(days), Scenario::morning_peak(days), Scenario::counters_closing(days)] {
        let r = run(&scenario);
        println!(
            "  {:<18} {:>9} {:>8.1} s {:>8.1} s {:>7.1} s {:>8.1}% {:>8.1}% {:>8.1} s {:>4.1}%",
            scenario.name,
            r.visitors,
            r.mean_wait_s,
            r.p90_wait_s,
            r.estimate_mae_s,
            r.relative_mae() * 100.0,
            r.within_range * 100.0,
            r.known_mean_mae_s,
            r.known_mean_mae_s / r.mean_wait_s.max(f64::EPSILON) * 100.0
        );
    }
}
