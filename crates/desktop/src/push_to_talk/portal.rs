//! Push-to-talk's key on Wayland, where no application may grab keys: the
//! desktop binds it for us through the XDG GlobalShortcuts portal, shows
//! the person its own dialog (it may pick another key) and says when the
//! key goes down and up.

use ashpd::desktop::global_shortcuts::{
    BindShortcutsOptions, GlobalShortcuts, NewShortcut, Shortcut,
};
use ashpd::desktop::{CreateSessionOptions, ResponseError, Session};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::i18n::Sentence;

/// Our one shortcut's id: the desktop keeps the person's choice under it.
const ID: &str = "push-to-talk";

/// A key the desktop holds for us; [`PortalKey::release`] lets it go.
pub struct PortalKey {
    session: Session<GlobalShortcuts>,
    listen: JoinHandle<()>,
}

impl Drop for PortalKey {
    /// Dropped without a release: at least no one hears the key any more.
    fn drop(&mut self) {
        self.listen.abort();
    }
}

/// Says who we are to the portal, once, before any other call: portals
/// since xdg-desktop-portal 1.21 refuse an application outside a sandbox
/// that has not (`app_id` must be the basename of its .desktop file).
/// Older portals have no registry; that is no trouble.
async fn register(app_id: &str) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let registered = match app_id.parse() {
            Ok(id) => ashpd::register_host_app(id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = registered {
            tracing::info!("not registered with the portal as {app_id}: {e}");
        }
    })
    .await;
}

/// What the desktop bound.
pub struct Bound {
    pub key: PortalKey,
    /// How the desktop names the key it bound ("Shift+F9"), if it says.
    pub trigger: Option<String>,
}

impl PortalKey {
    /// Asks the desktop to bind `key` (as the person wrote it, "Ctrl+Space")
    /// under `description` for the application `app_id`; `on_key(down)`
    /// hears each press and release, `on_change(trigger)` each key the
    /// person picks later in the desktop's settings.
    pub async fn bind(
        app_id: &str,
        key: &str,
        description: &str,
        on_key: impl Fn(bool) + Send + 'static,
        on_change: impl Fn(Option<String>) + Send + 'static,
    ) -> Result<Bound, Sentence> {
        register(app_id).await;
        let portal = GlobalShortcuts::new().await.map_err(|e| missing(&e))?;
        // Listening before binding: no press is lost in between.
        let downs = portal.receive_activated().await.map_err(|e| refused(&e))?;
        let ups = portal
            .receive_deactivated()
            .await
            .map_err(|e| refused(&e))?;
        let changes = portal
            .receive_shortcuts_changed()
            .await
            .map_err(|e| refused(&e))?;
        let session = portal
            .create_session(CreateSessionOptions::default())
            .await
            .map_err(|e| refused(&e))?;
        let wanted =
            [NewShortcut::new(ID, description).preferred_trigger(xdg_trigger(key).as_str())];
        let answer = match portal
            .bind_shortcuts(&session, &wanted, None, BindShortcutsOptions::default())
            .await
            .and_then(|request| request.response())
        {
            Ok(answer) => answer,
            Err(e) => {
                let _ = session.close().await;
                return Err(refused(&e));
            }
        };
        let trigger = trigger_of(answer.shortcuts());
        // Signals go to every client of the portal: only our session's
        // count (another application may use the same id).
        let Some(ours) = path_of(&session) else {
            let _ = session.close().await;
            return Err(Sentence::new("ptt.portalNoSession"));
        };
        let (a, b, c) = (ours.clone(), ours.clone(), ours);
        let events = futures_util::stream::select_all([
            downs
                .filter(move |d| mine(&a, d.session_handle().as_str(), d.shortcut_id()))
                .map(|_| Event::Key(true))
                .boxed(),
            ups.filter(move |u| mine(&b, u.session_handle().as_str(), u.shortcut_id()))
                .map(|_| Event::Key(false))
                .boxed(),
            changes
                .filter(move |s| std::future::ready(s.session_handle().as_str() == c))
                .map(|s| Event::Changed(trigger_of(s.shortcuts())))
                .boxed(),
        ]);
        let listen = tokio::spawn(async move {
            let mut events = events;
            while let Some(event) = events.next().await {
                match event {
                    Event::Key(down) => on_key(down),
                    Event::Changed(trigger) => on_change(trigger),
                }
            }
        });
        Ok(Bound {
            key: PortalKey { session, listen },
            trigger,
        })
    }

    /// Lets the key go: the desktop forgets the binding's session.
    pub async fn release(self) {
        self.listen.abort();
        if let Err(e) = self.session.close().await {
            tracing::debug!("push-to-talk's portal session not closed: {e}");
        }
    }
}

enum Event {
    Key(bool),
    Changed(Option<String>),
}

fn mine(ours: &str, session: &str, id: &str) -> std::future::Ready<bool> {
    std::future::ready(session == ours && id == ID)
}

/// The session's object path. ashpd keeps it to itself, but writes it
/// when the session is serialized (as the portal's calls send it).
fn path_of(session: &Session<GlobalShortcuts>) -> Option<String> {
    match serde_json::to_value(session) {
        Ok(serde_json::Value::String(path)) => Some(path),
        _ => None,
    }
}

/// How the desktop names our key, from what it says it bound.
fn trigger_of(shortcuts: &[Shortcut]) -> Option<String> {
    shortcuts
        .iter()
        .find(|s| s.id() == ID)
        .map(|s| s.trigger_description().trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The portal is not there, or offers no global shortcuts.
fn missing(why: &ashpd::Error) -> Sentence {
    tracing::info!("no GlobalShortcuts portal: {why}");
    Sentence::new("ptt.noPortal")
}

fn refused(why: &ashpd::Error) -> Sentence {
    match why {
        ashpd::Error::Response(ResponseError::Cancelled) => Sentence::new("ptt.portalCancelled"),
        _ => Sentence::new("ptt.portalRefused").with("why", why),
    }
}

/// A key as the person writes it ("Ctrl+Space", "F9", "Alt+KeyA") in the
/// XDG shortcuts specification's form ("CTRL+space", "F9", "ALT+a"): the
/// desktop's dialog starts from it.
pub fn xdg_trigger(key: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in key.split('+').map(str::trim).filter(|p| !p.is_empty()) {
        let modifier = match part.to_ascii_lowercase().as_str() {
            "ctrl" | "control" | "commandorcontrol" | "cmdorctrl" | "commandorctrl"
            | "cmdorcontrol" => Some("CTRL"),
            "alt" | "option" | "altgr" => Some("ALT"),
            "shift" => Some("SHIFT"),
            "super" | "meta" | "cmd" | "command" | "logo" | "win" => Some("LOGO"),
            _ => None,
        };
        parts.push(match modifier {
            Some(m) => m.to_string(),
            None => keysym(part),
        });
    }
    parts.join("+")
}

/// A key's name as an XKB keysym name.
fn keysym(key: &str) -> String {
    let bare = key
        .strip_prefix("Key")
        .filter(|k| k.len() == 1)
        .or_else(|| key.strip_prefix("Digit").filter(|k| k.len() == 1))
        .unwrap_or(key);
    if bare.chars().count() == 1 {
        return bare.to_lowercase();
    }
    if let Some(digit) = bare
        .strip_prefix("Numpad")
        .filter(|d| d.len() == 1 && d.chars().all(|c| c.is_ascii_digit()))
    {
        return format!("KP_{digit}");
    }
    let named = match bare.to_ascii_lowercase().as_str() {
        "space" => "space",
        "enter" | "return" => "Return",
        "escape" | "esc" => "Escape",
        "tab" => "Tab",
        "backspace" => "BackSpace",
        "delete" => "Delete",
        "insert" => "Insert",
        "home" => "Home",
        "end" => "End",
        "pageup" => "Page_Up",
        "pagedown" => "Page_Down",
        "arrowup" | "up" => "Up",
        "arrowdown" | "down" => "Down",
        "arrowleft" | "left" => "Left",
        "arrowright" | "right" => "Right",
        "capslock" => "Caps_Lock",
        "pause" => "Pause",
        "scrolllock" => "Scroll_Lock",
        "printscreen" => "Print",
        "semicolon" => "semicolon",
        "comma" => "comma",
        "period" => "period",
        "slash" => "slash",
        "backslash" => "backslash",
        "minus" => "minus",
        "equal" => "equal",
        "quote" => "apostrophe",
        "backquote" => "grave",
        "bracketleft" => "bracketleft",
        "bracketright" => "bracketright",
        "numpadadd" => "KP_Add",
        "numpadsubtract" => "KP_Subtract",
        "numpadmultiply" => "KP_Multiply",
        "numpaddivide" => "KP_Divide",
        "numpaddecimal" => "KP_Decimal",
        "numpadenter" => "KP_Enter",
        _ => return bare.to_string(),
    };
    named.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_said_as_the_shortcuts_specification_says_them() {
        assert_eq!(xdg_trigger("F9"), "F9");
        assert_eq!(xdg_trigger("Ctrl+Space"), "CTRL+space");
        assert_eq!(xdg_trigger("CommandOrControl+Shift+KeyP"), "CTRL+SHIFT+p");
        assert_eq!(xdg_trigger("Alt+A"), "ALT+a");
        assert_eq!(xdg_trigger("Super+Digit1"), "LOGO+1");
        assert_eq!(xdg_trigger("Shift+PageDown"), "SHIFT+Page_Down");
        assert_eq!(xdg_trigger(" Ctrl + Enter "), "CTRL+Return");
        assert_eq!(xdg_trigger("Ctrl+Semicolon"), "CTRL+semicolon");
        assert_eq!(xdg_trigger("Numpad0"), "KP_0");
        assert_eq!(xdg_trigger("Alt+BracketLeft"), "ALT+bracketleft");
    }
}
