//! Push-to-talk: a key, held while another application has the focus,
//! opens the muted microphone until it is released. The shell catches the
//! key system-wide (per OS) and says when it goes down and up; on Wayland
//! the desktop binds it through its portal ([`portal`]). The rule
//! ([`hold`]) and the chosen key (kept in `push-to-talk.json`) live here.

mod hold;
#[cfg(target_os = "linux")]
pub mod portal;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use ts_rs::TS;

use crate::call::CallController;
use crate::i18n::Sentence;
use crate::settings_file::SettingsFile;
use crate::tray::in_call;
use hold::Hold;

/// What the settings show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PushToTalkView {
    /// The key, as the person wrote it ("F9", "Ctrl+Space"); none: off.
    pub key: Option<String>,
    /// How the desktop names the key it bound, where the desktop binds it
    /// and the person may pick another there (Wayland's portal).
    pub trigger: Option<String>,
    /// Why the key does not work, if it does not (taken by another
    /// application, not a key).
    pub problem: Option<Sentence>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Settings {
    key: Option<String>,
}

pub struct PushToTalk {
    file: SettingsFile,
    /// Watched: the desktop's portal may change it between commands.
    view: watch::Sender<PushToTalkView>,
    hold: Mutex<Hold>,
    calls: Arc<CallController>,
    /// The key's ups and downs, in order, to one task (a release must not
    /// overtake its press).
    keys: mpsc::UnboundedSender<bool>,
    pending: Mutex<Option<mpsc::UnboundedReceiver<bool>>>,
    /// The key the desktop's portal holds for us, if it holds one.
    #[cfg(target_os = "linux")]
    portal: tokio::sync::Mutex<Option<portal::PortalKey>>,
}

impl PushToTalk {
    pub fn new(config_dir: &Path, calls: Arc<CallController>) -> Self {
        let file = SettingsFile::new(config_dir, "push-to-talk.json", "file.pushToTalk");
        let (settings, problem) = file.load::<Settings>();
        let (keys, pending) = mpsc::unbounded_channel();
        PushToTalk {
            file,
            view: watch::Sender::new(PushToTalkView {
                key: settings.key,
                trigger: None,
                problem,
            }),
            hold: Mutex::new(Hold::default()),
            calls,
            keys,
            pending: Mutex::new(Some(pending)),
            #[cfg(target_os = "linux")]
            portal: tokio::sync::Mutex::new(None),
        }
    }

    pub fn view(&self) -> PushToTalkView {
        self.view.borrow().clone()
    }

    /// Each change of the view.
    pub fn changes(&self) -> watch::Receiver<PushToTalkView> {
        self.view.subscribe()
    }

    /// Keeps `key` (none: off), which the shell has taken system-wide (or
    /// the desktop has bound).
    /// The old key is no longer caught, so its release cannot come: a
    /// microphone it holds open closes now.
    pub fn keep(&self, key: Option<String>) -> Result<(), Sentence> {
        self.key(false);
        self.file.save(&Settings { key: key.clone() })?;
        self.view.send_replace(PushToTalkView {
            key,
            trigger: None,
            problem: None,
        });
        Ok(())
    }

    /// The key could not be taken: why, in words.
    pub fn trouble(&self, problem: Sentence) {
        self.view.send_modify(|v| v.problem = Some(problem));
    }

    /// Has the desktop bind `key` through its portal (none: lets it go)
    /// and keeps it, as [`Self::keep`]; the old binding holds until the
    /// new one does. `description` is what the desktop's dialog says the
    /// key is for.
    #[cfg(target_os = "linux")]
    pub async fn bind_through_portal(
        self: &Arc<Self>,
        app_id: &str,
        key: Option<String>,
        description: &str,
    ) -> Result<(), Sentence> {
        let mut held = self.portal.lock().await;
        let (new, trigger) = match &key {
            Some(key) => {
                let keys = self.keys.clone();
                let me = Arc::downgrade(self);
                let bound = portal::PortalKey::bind(
                    app_id,
                    key,
                    description,
                    move |down| {
                        let _ = keys.send(down);
                    },
                    move |trigger| {
                        if let Some(me) = me.upgrade() {
                            me.view.send_modify(|v| v.trigger = trigger);
                        }
                    },
                )
                .await?;
                (Some(bound.key), bound.trigger)
            }
            None => (None, None),
        };
        // Kept first: a key that cannot be kept is let go, and the old one
        // stays.
        if let Err(why) = self.keep(key) {
            if let Some(new) = new {
                new.release().await;
            }
            return Err(why);
        }
        if let Some(old) = std::mem::replace(&mut *held, new) {
            old.release().await;
        }
        self.view.send_modify(|v| v.trigger = trigger);
        Ok(())
    }

    /// The key went down (`true`) or up. Never waits.
    pub fn key(&self, down: bool) {
        let _ = self.keys.send(down);
    }

    /// Muted or unmuted by hand.
    pub fn by_hand(&self) {
        self.hold
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_hand();
        self.calls.set_talking(false);
    }

    /// Acts on the key's ups and downs. Call once, inside a tokio runtime.
    pub fn start(self: &Arc<Self>) {
        let Some(mut keys) = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(down) = keys.recv().await {
                me.act(down).await;
            }
        });
    }

    async fn act(&self, down: bool) {
        // Outside a call a press does nothing. A release always counts: a
        // call that ended while the key opened the microphone must not
        // leave the next call starting unmuted.
        if down && !in_call(&self.calls.view()) {
            return;
        }
        let change = {
            let mut hold = self.hold.lock().unwrap_or_else(PoisonError::into_inner);
            let change = if down {
                hold.down(self.calls.is_muted()).then_some(false)
            } else {
                hold.up().then_some(true)
            };
            (change, hold.talking())
        };
        if let (Some(muted), talking) = change {
            self.calls.set_muted(muted).await;
            self.calls.set_talking(talking);
        }
    }
}
