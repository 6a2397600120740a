//! CPU time and peak memory of processes, from /proc: what the benchmarks
//! report for each client.

use anyhow::{Context, Result};

/// CPU seconds used so far, resident memory now and its peak.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu_s: f64,
    pub rss_mib: f64,
    pub peak_mib: f64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            cpu_s: self.cpu_s + o.cpu_s,
            rss_mib: self.rss_mib + o.rss_mib,
            peak_mib: self.peak_mib + o.peak_mib,
        }
    }
}

fn stat_fields(pid: u32) -> Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    Ok(rest.split_whitespace().map(String::from).collect())
}

/// One process's usage.
pub fn of_pid(pid: u32) -> Result<Usage> {
    let f = stat_fields(pid)?;
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.unwrap_or(100) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> Result<f64> {
        Ok(status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .with_context(|| format!("{key} in /proc/{pid}/status"))?
            .parse()?)
    };
    Ok(Usage {
        cpu_s: ticks / hz,
        rss_mib: kib("VmRSS:")? / 1024.0,
        peak_mib: kib("VmHWM:")? / 1024.0,
    })
}

/// What [`sample`] saw of one process.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// CPU use in each interval, percent of one core.
    pub cpu_pct: Vec<f64>,
    /// Resident memory at each sample, MiB.
    pub rss_mib: Vec<f64>,
    /// Peak resident memory at the end, MiB.
    pub peak_mib: f64,
}

/// Reads every process in `pids` at the same moments, `intervals` times
/// `every` apart (one read before the first), so processes measured side by
/// side share the same seconds of the same run.
pub async fn sample(
    pids: &[u32],
    every: std::time::Duration,
    intervals: usize,
) -> Result<Vec<Series>> {
    let read = || -> Result<Vec<Usage>> { pids.iter().map(|&p| of_pid(p)).collect() };
    let mut out = vec![Series::default(); pids.len()];
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let mut last = (read()?, std::time::Instant::now());
    for _ in 0..intervals {
        tick.tick().await;
        let now = (read()?, std::time::Instant::now());
        let seconds = now.1.duration_since(last.1).as_secs_f64();
        for ((series, before), after) in out.iter_mut().zip(&last.0).zip(&now.0) {
            series
                .cpu_pct
                .push(100.0 * (after.cpu_s - before.cpu_s) / seconds);
            series.rss_mib.push(after.rss_mib);
            series.peak_mib = after.peak_mib;
        }
        last = now;
    }
    Ok(out)
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose command name (as the kernel keeps it, 15 bytes) is `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    let short: String = name.chars().take(15).collect();
    all_pids()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim_end() == short)
        })
        .collect()
}

/// `pid` and every process below it.
pub fn tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|p| Some((p, stat_fields(p).ok()?.get(1)?.parse().ok()?)))
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// What a client cost over a measured time.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// CPU, percent of one core, summed over its processes.
    pub cpu_pct: f64,
    /// Each process's own peak memory, summed: an upper bound.
    pub peak_mib: f64,
}

/// The cost of `pids` over the next `seconds`.
pub async fn cost(pids: &[u32], seconds: u64) -> Result<Cost> {
    let series = sample(pids, std::time::Duration::from_secs(seconds), 1).await?;
    Ok(Cost {
        cpu_pct: series.iter().map(|s| s.cpu_pct[0]).sum(),
        peak_mib: series.iter().map(|s| s.peak_mib).sum(),
    })
}

/// The cost of `pids` over the next `seconds`, and each process's CPU
/// share of it by command name (processes of one name summed), largest
/// first: where a client's cost goes.
pub async fn cost_by_name(pids: &[u32], seconds: u64) -> Result<(Cost, Vec<(String, f64)>)> {
    let names: Vec<String> = pids
        .iter()
        .map(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .map(|c| c.trim_end().to_owned())
                .unwrap_or_else(|_| format!("pid {p}"))
        })
        .collect();
    let series = sample(pids, std::time::Duration::from_secs(seconds), 1).await?;
    let mut split: Vec<(String, f64)> = Vec::new();
    for (name, s) in names.into_iter().zip(&series) {
        match split.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cpu)) => *cpu += s.cpu_pct[0],
            None => split.push((name, s.cpu_pct[0])),
        }
    }
    split.sort_by(|a, b| b.1.total_cmp(&a.1));
    let cost = Cost {
        cpu_pct: series.iter().map(|s| s.cpu_pct[0]).sum(),
        peak_mib: series.iter().map(|s| s.peak_mib).sum(),
    };
    Ok((cost, split))
}

/// The summed usage of `pid` and its descendants (peak memory summed over
/// processes: an upper bound).
pub fn of_tree(pid: u32) -> Usage {
    tree(pid)
        .into_iter()
        .filter_map(|p| of_pid(p).ok())
        .fold(Usage::default(), |a, b| a + b)
}
