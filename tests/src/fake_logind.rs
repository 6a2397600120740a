//! A private system bus with a fake systemd-logind on it, so a test can put
//! the app "to sleep" and wake it: a `dbus-daemon` run with a system-bus
//! configuration of its own (in a temporary directory), and a zbus server
//! that owns `org.freedesktop.login1`, hands out inhibitor locks the way
//! logind does (`Manager.Inhibit` returns one end of a socket pair; the
//! lock is held until every copy of that end is closed, which the fake
//! sees as end-of-file on its own end) and emits `PrepareForSleep` as the
//! name's owner (clients match on the sender).
//!
//! Give the app `DBUS_SYSTEM_BUS_ADDRESS` = [`FakeLogind::address`].

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};

use crate::private_bus::{BusKind, PrivateBus};
use zbus::object_server::SignalEmitter;

const PATH: &str = "/org/freedesktop/login1";

/// One inhibitor lock as logind would see it.
#[derive(Debug, Clone)]
pub struct Lock {
    pub what: String,
    pub who: String,
    pub mode: String,
    pub taken_at: SystemTime,
    /// When the holder closed it (None: still held).
    pub released_at: Option<SystemTime>,
}

type Locks = Arc<Mutex<Vec<Lock>>>;

struct Manager {
    locks: Locks,
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl Manager {
    fn inhibit(
        &self,
        what: String,
        who: String,
        _why: String,
        mode: String,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        let index = {
            let mut locks = self.locks.lock().expect("locks lock");
            locks.push(Lock {
                what,
                who,
                mode,
                taken_at: SystemTime::now(),
                released_at: None,
            });
            locks.len() - 1
        };
        let locks = Arc::clone(&self.locks);
        // Our end reads end-of-file once the holder's copy (the only other
        // one, after the bus has passed it on) is closed.
        std::thread::spawn(move || {
            let mut ours = ours;
            let mut byte = [0u8; 1];
            while matches!(ours.read(&mut byte), Ok(n) if n > 0) {}
            locks.lock().expect("locks lock")[index].released_at = Some(SystemTime::now());
        });
        Ok(std::os::fd::OwnedFd::from(theirs).into())
    }

    #[zbus(signal)]
    async fn prepare_for_sleep(emitter: &SignalEmitter<'_>, start: bool) -> zbus::Result<()>;
}

/// The running bus and fake logind; dropped, both are gone.
pub struct FakeLogind {
    /// The bus goes when the fake does.
    _bus: PrivateBus,
    address: String,
    conn: zbus::Connection,
    locks: Locks,
    _dir: tempfile::TempDir,
}

impl FakeLogind {
    pub async fn start() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-sysbus-")
            .tempdir()?;
        let bus = tokio::task::block_in_place(|| PrivateBus::start(dir.path(), BusKind::System))?;
        let address = bus.address().to_string();
        let locks: Locks = Arc::default();
        let conn = zbus::connection::Builder::address(address.as_str())?
            .name("org.freedesktop.login1")?
            .serve_at(
                PATH,
                Manager {
                    locks: Arc::clone(&locks),
                },
            )?
            .build()
            .await
            .context("taking org.freedesktop.login1 on the private system bus")?;
        Ok(FakeLogind {
            _bus: bus,
            address,
            conn,
            locks,
            _dir: dir,
        })
    }

    /// For the app's `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Every lock taken so far.
    pub fn locks(&self) -> Vec<Lock> {
        self.locks.lock().expect("locks lock").clone()
    }

    /// Locks taken and not yet released.
    pub fn held(&self) -> Vec<Lock> {
        self.locks()
            .into_iter()
            .filter(|l| l.released_at.is_none())
            .collect()
    }

    /// Emits `PrepareForSleep(start)` (true: about to sleep; false: woke).
    pub async fn prepare_for_sleep(&self, start: bool) -> Result<()> {
        let iface = self
            .conn
            .object_server()
            .interface::<_, Manager>(PATH)
            .await?;
        Manager::prepare_for_sleep(iface.signal_emitter(), start).await?;
        Ok(())
    }

    /// Waits until `pred` holds for the locks; returns them.
    pub async fn wait_locks(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&[Lock]) -> bool,
    ) -> Result<Vec<Lock>> {
        let deadline = Instant::now() + within;
        loop {
            let locks = self.locks();
            if pred(&locks) {
                return Ok(locks);
            }
            if Instant::now() > deadline {
                bail!("{what}: not within {within:?}; locks {locks:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
