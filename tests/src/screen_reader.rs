//! What a screen reader hears from the app: `tests/a11y/listen.py`
//! listening on the accessibility bus (AT-SPI) of the test's session, as a
//! screen reader does, each event a JSON line. Stopped when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::process::{Child, Command};

use crate::lines::{Line, Lines};

pub struct ScreenReader {
    child: Child,
    pub heard: Lines,
}

impl ScreenReader {
    /// Starts listening (with the system's Python, which has the AT-SPI
    /// bindings) and waits until it does.
    pub async fn start() -> Result<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("a11y/listen.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the AT-SPI listener (python3-gi, gir1.2-atspi-2.0)")?;
        let heard = Lines::follow(child.stdout.take().context("its output")?);
        heard
            .expect_after(
                "the AT-SPI listener",
                0,
                "listening",
                |l| l.kind() == "listening",
                Duration::from_secs(10),
            )
            .await?;
        Ok(ScreenReader { child, heard })
    }

    /// Waits until new content in a live region says `words` (its text
    /// contains them), heard after `mark`.
    pub async fn hears(&self, mark: usize, words: &str, within: Duration) -> Result<Line> {
        self.heard
            .expect_after(
                "the screen reader",
                mark,
                &format!("{words:?} from a live region"),
                |l| {
                    l.str("live").is_some_and(|live| !live.is_empty())
                        && l.str("text").is_some_and(|t| t.contains(words))
                },
                within,
            )
            .await
    }
}

impl Drop for ScreenReader {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
