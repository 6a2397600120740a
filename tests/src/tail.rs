//! The end of a log file, for failure output.

use std::path::Path;

/// Longest line shown of a tail: server logs carry whole SDPs on one line.
const MAX_LINE: usize = 400;
/// Longest line shown of lines picked out: their fields, not SDPs.
const MAX_PICKED: usize = 1_200;

/// The last `n` lines of the file at `path`, each cut to a readable length.
pub fn file_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    shown(&lines[lines.len().saturating_sub(n)..], MAX_LINE)
}

/// The lines of the file at `path` that `keep` keeps, each cut to a
/// readable length.
pub fn file_lines(path: &Path, keep: impl Fn(&str) -> bool) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| keep(l)).collect();
    shown(&lines, MAX_PICKED)
}

fn shown(lines: &[&str], longest: usize) -> String {
    lines
        .iter()
        .map(|l| match l.char_indices().nth(longest) {
            Some((cut, _)) => format!("{} …", &l[..cut]),
            None => (*l).to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_and_cuts_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let long = "é".repeat(MAX_LINE + 10);
        std::fs::write(&p, format!("a\nb\nc\n{long}\n")).unwrap();
        let t = file_tail(&p, 2);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "c");
        assert_eq!(lines[1].chars().count(), MAX_LINE + 2);
        assert_eq!(file_tail(&dir.path().join("missing"), 5), "");
    }
}
