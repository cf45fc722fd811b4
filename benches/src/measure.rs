//! Timing contenders: wall time and this process's CPU time, medians and spreads.

use std::time::{Duration, Instant};

/// Process CPU time (user + system, all threads) from `/proc/self/stat`, in 10 ms ticks.
pub(crate) fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3 of the line; utime and stime are fields 14 and 15.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((tick(11) + tick(12)) * 10)
}

/// One run of one contender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
}

/// Runs `work` and measures it.
pub(crate) fn sample(work: impl FnOnce()) -> Sample {
    let (wall, cpu) = (Instant::now(), cpu_time());
    work();
    Sample { wall: wall.elapsed(), cpu: cpu_time().saturating_sub(cpu) }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints a table: per contender the median rate, its spread, the median CPU per unit, and the
/// ratio of its rate to the first contender's (netaccess).
pub(crate) fn report(title: &str, unit: &str, per: &str, units: f64, cpu_scale: f64, rows: &[(&str, Vec<Sample>)]) {
    println!("\n{title}");
    println!(
        "{:<16} {:>14} {:>22} {:>16} {:>8}",
        "contender",
        format!("median {unit}"),
        format!("min-max {unit}"),
        format!("CPU {per}"),
        "ratio"
    );
    let rate = |s: &Sample| units / s.wall.as_secs_f64();
    let base = median(rows[0].1.iter().map(rate).collect());
    for (name, samples) in rows {
        let rates: Vec<f64> = samples.iter().map(rate).collect();
        let (min, max) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let cpu = median(samples.iter().map(|s| s.cpu.as_secs_f64() * cpu_scale / units).collect());
        let median_rate = median(rates);
        println!(
            "{name:<16} {median_rate:>14.0} {:>22} {cpu:>16.2} {:>7.2}x",
            format!("{min:.0}-{max:.0}"),
            median_rate / base
        );
    }
}
