//! The end of a log file, for failure output.

use std::path::Path;

/// Longest line shown: server logs carry whole SDPs on one line.
const MAX_LINE: usize = 400;

/// The last `n` lines of the file at `path`, each cut to a readable length.
pub fn file_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| match l.char_indices().nth(MAX_LINE) {
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
