//! A tray on the test's private session bus: the StatusNotifierWatcher a
//! desktop's panel runs (`org.kde.StatusNotifierWatcher`), which the app's
//! icon registers with, and a reader of the icon (`org.kde.StatusNotifierItem`)
//! and its menu (`com.canonical.dbusmenu`) as the panel reads them. A test
//! sees what the tray would draw and clicks its menu as a person would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use zbus::message::Header;
use zbus::zvariant::{OwnedValue, Value};

/// One icon registered: the bus name it is on and its object path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registered {
    service: String,
    path: String,
}

struct Watcher {
    items: Arc<Mutex<Vec<Registered>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// Ayatana's indicators send their object path, others their bus
    /// name; the sender is the bus name either way.
    fn register_status_notifier_item(&self, service: String, #[zbus(header)] header: Header<'_>) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (service, path) = if service.starts_with('/') {
            (sender, service)
        } else {
            (service, "/StatusNotifierItem".to_string())
        };
        self.items
            .lock()
            .expect("items lock")
            .push(Registered { service, path });
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .expect("items lock")
            .iter()
            .map(|r| format!("{}{}", r.service, r.path))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

#[zbus::proxy(interface = "org.kde.StatusNotifierItem")]
trait Item {
    #[zbus(property)]
    fn icon_name(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn status(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn menu(&self) -> zbus::Result<zbus::zvariant::OwnedObjectPath>;
}

type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

#[zbus::proxy(interface = "com.canonical.dbusmenu")]
trait DbusMenu {
    fn get_layout(
        &self,
        parent_id: i32,
        recursion_depth: i32,
        property_names: &[&str],
    ) -> zbus::Result<(u32, Layout)>;
    fn event(&self, id: i32, event_id: &str, data: &Value<'_>, timestamp: u32) -> zbus::Result<()>;
}

/// The panel's side of the tray; dropped, it leaves the bus.
pub struct TrayHost {
    items: Arc<Mutex<Vec<Registered>>>,
    conn: zbus::Connection,
}

/// One line of the icon's menu, as the panel would draw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuLine {
    pub id: i32,
    /// Without the mnemonic's underscore.
    pub label: String,
    pub enabled: bool,
    pub separator: bool,
}

/// An icon in the tray.
pub struct TrayIcon {
    item: ItemProxy<'static>,
    menu: DbusMenuProxy<'static>,
}

impl TrayHost {
    /// Takes the watcher's name on the session bus
    /// (`DBUS_SESSION_BUS_ADDRESS`, set by `dbus-run-session`).
    pub async fn start() -> Result<Self> {
        anyhow::ensure!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "no session bus: run under dbus-run-session (scripts/test does)"
        );
        let items = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::connection::Builder::session()?
            .name("org.kde.StatusNotifierWatcher")?
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    items: Arc::clone(&items),
                },
            )?
            .build()
            .await
            .context("taking org.kde.StatusNotifierWatcher on the session bus")?;
        Ok(TrayHost { items, conn })
    }

    /// The first icon registered, once it is.
    pub async fn wait_icon(&self, within: Duration) -> Result<TrayIcon> {
        let deadline = Instant::now() + within;
        let first = loop {
            if let Some(r) = self.items.lock().expect("items lock").first().cloned() {
                break r;
            }
            if Instant::now() > deadline {
                bail!("no icon registered with the tray within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let item = ItemProxy::builder(&self.conn)
            .destination(first.service.clone())?
            .path(first.path.clone())?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        let menu_path = item.menu().await.context("the icon's Menu property")?;
        let menu = DbusMenuProxy::builder(&self.conn)
            .destination(first.service)?
            .path(menu_path)?
            .build()
            .await?;
        Ok(TrayIcon { item, menu })
    }
}

impl TrayIcon {
    /// "Active" while shown.
    pub async fn status(&self) -> Result<String> {
        Ok(self.item.status().await?)
    }

    /// The picture the panel draws: a PNG file the app wrote.
    pub async fn picture(&self) -> Result<PathBuf> {
        Ok(PathBuf::from(self.item.icon_name().await?))
    }

    /// The menu's lines, top to bottom.
    pub async fn menu(&self) -> Result<Vec<MenuLine>> {
        let (_, (_, _, children)) = self.menu.get_layout(0, -1, &[]).await?;
        children.into_iter().map(line).collect()
    }

    /// The line whose label is `label`.
    pub async fn line(&self, label: &str) -> Result<MenuLine> {
        let menu = self.menu().await?;
        menu.iter()
            .find(|l| l.label == label)
            .cloned()
            .with_context(|| format!("no {label:?} in the tray's menu: {menu:?}"))
    }

    /// Clicks the line labelled `label`, as the panel does. The app acts
    /// after the answer: wait for the effect.
    pub async fn click(&self, label: &str) -> Result<()> {
        let line = self.line(label).await?;
        anyhow::ensure!(line.enabled, "{label:?} is greyed out in the tray's menu");
        self.menu
            .event(line.id, "clicked", &Value::I32(0), 0)
            .await
            .with_context(|| format!("clicking {label:?}"))
    }

    /// Waits until the menu's lines satisfy `pred`.
    pub async fn wait_menu(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&[MenuLine]) -> bool,
    ) -> Result<Vec<MenuLine>> {
        let deadline = Instant::now() + within;
        loop {
            let menu = self.menu().await?;
            if pred(&menu) {
                return Ok(menu);
            }
            if Instant::now() > deadline {
                bail!("the tray's menu not {what} within {within:?}: {menu:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The icon's picture as RGBA rows (decoded by ImageMagick, which the
/// screenshots already need): (width, height, pixels).
pub fn picture_pixels(path: &std::path::Path) -> Result<(u32, u32, Vec<u8>)> {
    let (width, height) = crate::app::png_size(path)?;
    let out = std::process::Command::new("convert")
        .arg(path)
        .args(["-depth", "8", "rgba:-"])
        .output()
        .context("running convert (imagemagick)")?;
    anyhow::ensure!(
        out.stdout.len() == (width * height * 4) as usize,
        "convert gave {} bytes for a {width}x{height} picture",
        out.stdout.len()
    );
    Ok((width, height, out.stdout))
}

/// One child of the layout: (id, properties, children) in a variant.
fn line(child: OwnedValue) -> Result<MenuLine> {
    let (id, props, _): Layout = child.try_into().context("a menu item's layout")?;
    let text = |key: &str| -> Option<String> {
        props
            .get(key)
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
    };
    // Properties at their default are left out: enabled unless it says not.
    let enabled = props
        .get("enabled")
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(true);
    Ok(MenuLine {
        id,
        label: text("label").map(|l| unmnemonic(&l)).unwrap_or_default(),
        enabled,
        separator: text("type").as_deref() == Some("separator"),
    })
}

/// A GTK label as drawn: `_` marks the mnemonic, `__` is an underscore.
fn unmnemonic(label: &str) -> String {
    let mut out = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                out.push('_');
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn mnemonics_are_not_drawn() {
        assert_eq!(super::unmnemonic("_Quit"), "Quit");
        assert_eq!(super::unmnemonic("snake__case"), "snake_case");
    }
}
