//! Server profiles: where the app gets its LiveKit tokens. Three kinds — a
//! backend's token endpoint (with a credential for it), a self-hosted server's
//! API key and secret (the app mints), or a pasted token. What a profile is
//! lives in a file; its secret only in the OS keychain. The UI sees
//! [`ProfileInfo`], never a secret; it sends one only when the user types it.

mod environment;
mod keychain;
mod store;
pub mod tokens;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use environment::EnvProfile;
pub use keychain::KeychainError;
use store::{Store, StoredProfile};

use crate::call::join::clause;
use crate::i18n::Sentence;
use crate::secret::Secret;

/// How a profile gets tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ProfileKind {
    /// A backend's token endpoint and a credential for it.
    TokenEndpoint,
    /// The server's API key and secret: the app mints its own tokens.
    SelfHosted,
    /// One token, pasted; no refresh.
    PastedToken,
}

/// A profile as the UI sees it: no secret.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProfileInfo {
    pub id: String,
    pub name: String,
    pub kind: ProfileKind,
    pub url: String,
    pub room: String,
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
    #[ts(type = "number | null")]
    pub token_expires_at_ms: Option<u64>,
    /// Given by the environment (the demo, a test): not stored, not editable.
    pub from_environment: bool,
}

/// The profiles and which one the join form starts with.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProfilesView {
    pub profiles: Vec<ProfileInfo>,
    pub selected: Option<String>,
    /// The profiles file could not be read: what to do.
    pub problem: Option<Sentence>,
}

/// A new or edited profile from the form. `secret` is the credential, the
/// API secret or the token, by kind; empty when editing keeps the stored one.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProfileDraft {
    pub id: Option<String>,
    pub name: String,
    pub kind: ProfileKind,
    pub url: String,
    pub room: String,
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
    #[ts(type = "string | null")]
    pub secret: Option<Secret>,
}

/// Why a profile was not saved or deleted (the words say if part of it was).
#[derive(Debug, Clone, PartialEq, Serialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "kind", content = "message")]
#[ts(export)]
pub enum ProfileError {
    /// The form's mistake, said in the page's language.
    #[error("{0}")]
    Invalid(Sentence),
    #[error("{0}")]
    Keychain(Sentence),
    #[error("{0}")]
    Storage(Sentence),
}

impl ProfileError {
    /// The words, whichever kind of trouble it is.
    pub fn into_sentence(self) -> Sentence {
        match self {
            ProfileError::Invalid(s) | ProfileError::Keychain(s) | ProfileError::Storage(s) => s,
        }
    }
}

impl From<KeychainError> for ProfileError {
    fn from(e: KeychainError) -> Self {
        ProfileError::Keychain(e.sentence())
    }
}

/// A profile ready to ask for tokens: what it is and its secret.
#[derive(Debug)]
pub struct Resolved {
    pub info: ProfileInfo,
    pub secret: Secret,
}

pub struct Profiles {
    store: Store,
    env: Option<EnvProfile>,
    /// The choice made in this run; a profile from the environment (the
    /// demo's, a test's) starts chosen, since that is why it was given.
    chosen: std::sync::Mutex<Option<String>>,
    /// Saves and deletes one at a time (file and keychain kept in step).
    op: tokio::sync::Mutex<()>,
}

fn info(p: &StoredProfile) -> ProfileInfo {
    ProfileInfo {
        id: p.id.clone(),
        name: p.name.clone(),
        kind: p.kind,
        url: p.url.clone(),
        room: p.room.clone(),
        endpoint: p.endpoint.clone(),
        api_key: p.api_key.clone(),
        token_expires_at_ms: p.token_expires_at_ms,
        from_environment: false,
    }
}

fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("p-{:x}", nanos ^ ((std::process::id() as u128) << 64))
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

impl Profiles {
    pub fn new(config_dir: &Path, env: Option<EnvProfile>) -> Self {
        Profiles {
            store: Store::new(config_dir),
            chosen: std::sync::Mutex::new(env.as_ref().map(|e| e.info().id)),
            env,
            op: tokio::sync::Mutex::new(()),
        }
    }

    pub fn view(&self) -> ProfilesView {
        let mut view = ProfilesView::default();
        if let Some(env) = &self.env {
            view.profiles.push(env.info());
        }
        match self.store.load() {
            Ok(file) => {
                view.profiles.extend(file.profiles.iter().map(info));
                view.selected = file.selected;
            }
            Err(problem) => view.problem = Some(problem),
        }
        if let Some(id) = self.chosen.lock().expect("chosen lock").clone() {
            view.selected = Some(id);
        }
        let known = |id: &String| view.profiles.iter().any(|p| &p.id == id);
        if !view.selected.as_ref().is_some_and(known) {
            view.selected = view.profiles.first().map(|p| p.id.clone());
        }
        view
    }

    /// The profile and its secret (from the keychain, or the environment).
    pub async fn resolve(&self, id: Option<&str>) -> Result<Resolved, ProfileError> {
        let view = self.view();
        let id = id
            .map(String::from)
            .or(view.selected.clone())
            .ok_or_else(|| ProfileError::Invalid(Sentence::new("profileError.noProfile")))?;
        if let Some(env) = self.env.as_ref().filter(|e| e.info().id == id) {
            return Ok(env.resolve());
        }
        let info = view
            .profiles
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| ProfileError::Invalid(Sentence::new("profileError.gone")))?;
        let secret = keychain::read(&info.id).await?;
        Ok(Resolved { info, secret })
    }

    /// Checks a draft, puts its secret in the keychain, then records it.
    /// A keychain that fails leaves everything as it was.
    pub async fn save(&self, draft: ProfileDraft) -> Result<ProfileInfo, ProfileError> {
        let _op = self.op.lock().await;
        let mut file = self.store.load().map_err(ProfileError::Storage)?;
        let existing = draft
            .id
            .as_ref()
            .map(|id| {
                file.profiles
                    .iter()
                    .position(|p| &p.id == id)
                    .ok_or_else(|| ProfileError::Invalid(Sentence::new("profileError.gone")))
            })
            .transpose()?;
        let secret = draft
            .secret
            .as_ref()
            .map(|s| s.expose().trim())
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        if existing.is_none() && secret.is_none() {
            return Err(ProfileError::Invalid(Sentence::new(match draft.kind {
                ProfileKind::TokenEndpoint => "profileError.enterCredential",
                ProfileKind::SelfHosted => "profileError.enterApiSecret",
                ProfileKind::PastedToken => "profileError.pasteToken",
            })));
        }
        let mut profile = validate(&draft)?;
        if let (Some(i), None) = (existing, &secret) {
            // A kept secret stays with what it was given for: never sent
            // as another kind of secret, nor to another endpoint.
            let was = &file.profiles[i];
            if was.kind != profile.kind || was.endpoint != profile.endpoint {
                return Err(ProfileError::Invalid(Sentence::new(
                    "profileError.secretAgain",
                )));
            }
        }
        if let Some(i) = existing {
            profile.id = file.profiles[i].id.clone();
            if secret.is_none() {
                profile.token_expires_at_ms = file.profiles[i].token_expires_at_ms;
            }
        }
        if let (ProfileKind::PastedToken, Some(token)) = (profile.kind, &secret) {
            let t = rtcstack::token::inspect(token.expose()).map_err(|e| {
                ProfileError::Invalid(
                    Sentence::new("profileError.tokenUnusable").with("why", clause(&e)),
                )
            })?;
            let ms = t
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            if t.expires_at <= SystemTime::now() {
                return Err(ProfileError::Invalid(Sentence::new(
                    "profileError.tokenExpired",
                )));
            }
            profile.token_expires_at_ms = Some(ms);
            if !t.room.is_empty() {
                profile.room = t.room;
            }
        }
        // The secret first (a keychain that refuses leaves everything as it
        // was); if the file then cannot be written, the keychain is put back.
        let mut undo = None;
        if let Some(secret) = secret {
            if existing.is_some() {
                undo = Some(keychain::read(&profile.id).await.ok());
            } else {
                undo = Some(None);
            }
            keychain::store(&profile.id, secret).await?;
        }
        let shown = info(&profile);
        match existing {
            Some(i) => file.profiles[i] = profile,
            None => file.profiles.push(profile),
        }
        file.selected = Some(shown.id.clone());
        if let Err(e) = self.store.save(&file) {
            match undo {
                Some(Some(old)) => {
                    let _ = keychain::store(&shown.id, old).await;
                }
                Some(None) => {
                    let _ = keychain::delete(&shown.id).await;
                }
                None => {}
            }
            return Err(ProfileError::Storage(e));
        }
        *self.chosen.lock().expect("chosen lock") = Some(shown.id.clone());
        tracing::info!(profile = %shown.id, kind = ?shown.kind, "profile saved");
        Ok(shown)
    }

    /// Removes the profile, then its secret. A profile is never left
    /// without its secret; a keychain that cannot delete (gone, locked) is
    /// said, and the secret it still holds is unreachable by the app.
    pub async fn delete(&self, id: &str) -> Result<(), ProfileError> {
        let _op = self.op.lock().await;
        let mut file = self.store.load().map_err(ProfileError::Storage)?;
        let Some(i) = file.profiles.iter().position(|p| p.id == id) else {
            return Err(ProfileError::Invalid(Sentence::new("profileError.gone")));
        };
        file.profiles.remove(i);
        if file.selected.as_deref() == Some(id) {
            file.selected = None;
        }
        self.store.save(&file).map_err(ProfileError::Storage)?;
        {
            let mut chosen = self.chosen.lock().expect("chosen lock");
            if chosen.as_deref() == Some(id) {
                *chosen = None;
            }
        }
        tracing::info!(profile = %id, "profile deleted");
        keychain::delete(id).await.map_err(|e| {
            ProfileError::Keychain(
                Sentence::new("keychain.notRemoved").with_sentence("why", e.sentence()),
            )
        })
    }

    pub fn select(&self, id: &str) -> Result<(), ProfileError> {
        *self.chosen.lock().expect("chosen lock") = Some(id.to_string());
        let mut file = self.store.load().map_err(ProfileError::Storage)?;
        file.selected = Some(id.to_string());
        self.store.save(&file).map_err(ProfileError::Storage)
    }
}

/// The draft's fields, checked; the id is new.
fn validate(d: &ProfileDraft) -> Result<StoredProfile, ProfileError> {
    let bad = |key| ProfileError::Invalid(Sentence::new(key));
    let name = d.name.trim();
    if name.is_empty() {
        return Err(bad("profileError.name"));
    }
    let url = d.url.trim();
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "ws" | "wss" | "http" | "https") => {}
        _ => return Err(bad("profileError.serverAddress")),
    }
    let endpoint = non_empty(d.endpoint.as_deref());
    let api_key = non_empty(d.api_key.as_deref());
    match d.kind {
        ProfileKind::TokenEndpoint => {
            let e = endpoint
                .as_deref()
                .ok_or_else(|| bad("profileError.endpoint"))?;
            rtcstack_token_endpoint::check_endpoint_url(e).map_err(|e| {
                ProfileError::Invalid(
                    Sentence::new("profileError.endpointBad").with("why", clause(&e)),
                )
            })?;
        }
        ProfileKind::SelfHosted if api_key.is_none() => return Err(bad("profileError.apiKey")),
        _ => {}
    }
    Ok(StoredProfile {
        id: new_id(),
        name: name.to_string(),
        kind: d.kind,
        url: url.to_string(),
        room: d.room.trim().to_string(),
        endpoint: endpoint.filter(|_| d.kind == ProfileKind::TokenEndpoint),
        api_key: api_key.filter(|_| d.kind == ProfileKind::SelfHosted),
        token_expires_at_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: ProfileKind) -> ProfileDraft {
        ProfileDraft {
            id: None,
            name: "Work".into(),
            kind,
            url: "wss://lk.example.com".into(),
            room: "standup".into(),
            endpoint: Some("https://example.com/api/token".into()),
            api_key: Some("APIkey".into()),
            secret: Some(Secret::new("s")),
        }
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        let p = validate(&draft(ProfileKind::TokenEndpoint)).unwrap();
        assert_eq!(p.api_key, None, "an endpoint profile keeps no API key");
        let mut d = draft(ProfileKind::TokenEndpoint);
        d.endpoint = Some("http://tokens.example.com/t".into());
        let e = validate(&d).unwrap_err().to_string();
        assert!(e.contains("https://"), "{e}");
        let mut d = draft(ProfileKind::SelfHosted);
        d.api_key = None;
        assert!(validate(&d).unwrap_err().to_string().contains("API key"));
        let mut d = draft(ProfileKind::PastedToken);
        d.url = "lk.example.com".into();
        assert!(validate(&d).unwrap_err().to_string().contains("wss://"));
        d.url = "wss://lk.example.com".into();
        d.name = " ".into();
        assert!(validate(&d).unwrap_err().to_string().contains("name"));
    }
}
