//! A desktop notification server (`org.freedesktop.Notifications`) on the
//! test's private session bus that records what the app posts, so a test
//! can see a notification without a desktop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// One notification as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub app: String,
    pub summary: String,
    pub body: String,
}

struct Server {
    posted: Arc<Mutex<Vec<Posted>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut p = self.posted.lock().expect("posted lock");
        p.push(Posted {
            app: app_name,
            summary,
            body,
        });
        p.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "rtcstack-test".into(),
            "rtcstack".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// The running fake server; dropped, it leaves the bus.
pub struct NotificationServer {
    posted: Arc<Mutex<Vec<Posted>>>,
    _conn: zbus::Connection,
}

impl NotificationServer {
    /// Takes the notification service's name on the session bus
    /// (`DBUS_SESSION_BUS_ADDRESS`, set by `dbus-run-session`).
    pub async fn start() -> Result<Self> {
        anyhow::ensure!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no session bus: run under dbus-run-session (scripts/test does)"
        );
        let posted = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::connection::Builder::session()?
            .name("org.freedesktop.Notifications")?
            .serve_at(
                "/org/freedesktop/Notifications",
                Server {
                    posted: Arc::clone(&posted),
                },
            )?
            .build()
            .await
            .context("taking org.freedesktop.Notifications on the session bus")?;
        Ok(NotificationServer {
            posted,
            _conn: conn,
        })
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.posted.lock().expect("posted lock").clone()
    }

    /// Waits for a notification whose summary is `summary`.
    pub async fn wait_for(&self, summary: &str, within: Duration) -> Result<Posted> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(p) = self.posted().into_iter().find(|p| p.summary == summary) {
                return Ok(p);
            }
            if Instant::now() > deadline {
                bail!(
                    "no notification {summary:?} within {within:?}; posted: {:?}",
                    self.posted()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
