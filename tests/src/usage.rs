//! CPU time and peak memory of processes, from /proc: what the benchmarks
//! report for each client.

use anyhow::{Context, Result};

/// CPU seconds used so far and peak resident memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu_s: f64,
    pub peak_mib: f64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            cpu_s: self.cpu_s + o.cpu_s,
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
    let hwm_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .context("VmHWM")?
        .parse()?;
    Ok(Usage {
        cpu_s: ticks / hz,
        peak_mib: hwm_kib / 1024.0,
    })
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

/// The summed usage of `pid` and its descendants (peak memory summed over
/// processes: an upper bound).
pub fn of_tree(pid: u32) -> Usage {
    tree(pid)
        .into_iter()
        .filter_map(|p| of_pid(p).ok())
        .fold(Usage::default(), |a, b| a + b)
}
