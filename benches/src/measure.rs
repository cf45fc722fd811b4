//! Timing contenders: wall time, this process's CPU time and its peak resident memory, medians
//! and spreads.
//!
//! CPU comes from `/proc/self/stat` (utime + stime of all threads, what `getrusage(RUSAGE_SELF)`
//! reports, in 10 ms ticks); runs are sized so a tick is under 1 % of a run. Peak RSS is the
//! kernel's high-water mark (`VmHWM`), reset to the current RSS before each run by writing 5 to
//! `/proc/self/clear_refs`: it is the memory the process held at the run's peak, the
//! allocator's retained memory from earlier runs included.

use std::time::{Duration, Instant};

/// Process CPU time (user + system, all threads), in 10 ms ticks.
pub(crate) fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3 of the line; utime and stime are fields 14 and 15.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((tick(11) + tick(12)) * 10)
}

/// The resident-set high-water mark in bytes (`VmHWM`), 0 when unknown.
pub(crate) fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One run of one contender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    pub(crate) peak_rss: u64,
}

impl Sample {
    /// Prints the sample for the parent process to read with [`sample_in_child`].
    pub(crate) fn print(&self) {
        println!("{} {} {}", self.wall.as_nanos(), self.cpu.as_nanos(), self.peak_rss);
    }
}

/// One run in a fresh process of this program, started with `args` (the child mode and its
/// work); the child measures itself and prints its [`Sample`].
pub(crate) fn sample_in_child(args: &[&str]) -> Sample {
    let exe = std::env::current_exe().expect("current exe");
    let output = std::process::Command::new(exe).args(args).output().expect("run the child");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<u64> = text.split_whitespace().map(|n| n.parse().expect("number")).collect();
    Sample { wall: Duration::from_nanos(numbers[0]), cpu: Duration::from_nanos(numbers[1]), peak_rss: numbers[2] }
}

/// Runs `work` and measures it.
pub(crate) fn sample(work: impl FnOnce()) -> Sample {
    reset_peak_rss();
    let (wall, cpu) = (Instant::now(), cpu_time());
    work();
    Sample { wall: wall.elapsed(), cpu: cpu_time().saturating_sub(cpu), peak_rss: peak_rss() }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// What a table measures: the rate's unit, the unit CPU is counted per, how many units one run
/// does, and the factor from CPU seconds per unit to the printed figure.
pub(crate) struct Units<'a> {
    pub(crate) rate: &'a str,
    pub(crate) per: &'a str,
    pub(crate) per_run: f64,
    pub(crate) cpu_scale: f64,
}

/// Prints a table: per contender the median rate, its spread, the median CPU per unit, the
/// median peak RSS, and the ratio of its rate to the first contender's (netaccess).
pub(crate) fn report(title: &str, units: &Units<'_>, rows: &[(&str, Vec<Sample>)]) {
    println!("\n{title}");
    println!(
        "{:<18} {:>14} {:>20} {:>12} {:>10} {:>7}",
        "contender",
        format!("median {}", units.rate),
        format!("min-max {}", units.rate),
        format!("CPU {}", units.per),
        "peak RSS",
        "ratio"
    );
    let rate = |s: &Sample| units.per_run / s.wall.as_secs_f64();
    let base = median(rows[0].1.iter().map(rate).collect());
    for (name, samples) in rows {
        let rates: Vec<f64> = samples.iter().map(rate).collect();
        let (min, max) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let cpu = median(samples.iter().map(|s| s.cpu.as_secs_f64() * units.cpu_scale / units.per_run).collect());
        let rss = median(samples.iter().map(|s| s.peak_rss as f64 / (1024.0 * 1024.0)).collect());
        let median_rate = median(rates);
        println!(
            "{name:<18} {median_rate:>14.0} {:>20} {cpu:>12.2} {:>10} {:>6.2}x",
            format!("{min:.0}-{max:.0}"),
            format!("{rss:.1} MiB"),
            median_rate / base
        );
    }
}
