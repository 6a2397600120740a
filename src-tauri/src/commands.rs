//! The UI's commands for the call and the profiles: each one line over
//! the desktop core.

use rtcstack_desktop_core::audio::{AudioView, Stages};
use rtcstack_desktop_core::call::{CallView, JoinError, JoinRequest};
use rtcstack_desktop_core::i18n::Sentence;
use rtcstack_desktop_core::language::LanguageView;
use rtcstack_desktop_core::profiles::{ProfileDraft, ProfileError, ProfileInfo, ProfilesView};
use rtcstack_desktop_core::video::native::Placement;
use rtcstack_desktop_core::video::{CameraInfo, ShareTarget, Shareable, TileSize};
use rtcstack_desktop_core::{CheckView, Desktop};
use tauri::{AppHandle, Manager, Runtime, State};

#[tauri::command]
pub fn call_view(desktop: State<'_, Desktop>) -> CallView {
    desktop.calls.view()
}

/// The view comes as `call-view` events; the answer says only whether the
/// join was refused.
#[tauri::command]
pub async fn join(desktop: State<'_, Desktop>, request: JoinRequest) -> Result<(), JoinError> {
    desktop.join(request).await
}

#[tauri::command]
pub fn check_view(desktop: State<'_, Desktop>) -> CheckView {
    desktop.checks.view()
}

#[tauri::command]
pub async fn run_check(desktop: State<'_, Desktop>, request: JoinRequest) -> Result<CheckView, ()> {
    Ok(desktop.checks.run(request, false).await)
}

#[tauri::command]
pub async fn leave(desktop: State<'_, Desktop>) -> Result<(), ()> {
    desktop.calls.leave().await;
    Ok(())
}

#[tauri::command]
pub async fn set_muted(desktop: State<'_, Desktop>, muted: bool) -> Result<(), ()> {
    desktop.set_muted(muted).await;
    Ok(())
}

#[tauri::command]
pub async fn show_video(
    desktop: State<'_, Desktop>,
    track_sid: String,
    size: Option<TileSize>,
) -> Result<(), ()> {
    desktop.calls.show_video(&track_sid, size).await;
    Ok(())
}

#[tauri::command]
pub fn place_videos(desktop: State<'_, Desktop>, placements: Vec<Placement>) -> bool {
    desktop.videos.place(placements)
}

#[tauri::command]
pub fn videos_painted() -> u64 {
    rtcstack_desktop_core::video::native::painted()
}

#[tauri::command]
pub async fn shareables(desktop: State<'_, Desktop>) -> Result<Vec<Shareable>, Sentence> {
    desktop.calls.shareables().await
}

#[tauri::command]
pub async fn cameras(desktop: State<'_, Desktop>) -> Result<Vec<CameraInfo>, Sentence> {
    desktop.calls.cameras().await
}

#[tauri::command]
pub async fn show_camera(desktop: State<'_, Desktop>, id: Option<String>) -> Result<(), Sentence> {
    desktop.calls.show_camera(id).await
}

#[tauri::command]
pub async fn share_screen(
    desktop: State<'_, Desktop>,
    target: Option<ShareTarget>,
) -> Result<(), Sentence> {
    desktop.calls.share_screen(target).await
}

#[tauri::command]
pub fn video_socket(desktop: State<'_, Desktop>) -> Option<String> {
    desktop.video_socket.base()
}

#[tauri::command]
pub fn retry_now(desktop: State<'_, Desktop>) {
    desktop.calls.retry_now();
}

#[tauri::command]
pub fn audio_view(desktop: State<'_, Desktop>) -> AudioView {
    desktop.audio.view()
}

/// Opening a device can block: on the blocking pool.
#[tauri::command]
pub async fn choose_devices(
    desktop: State<'_, Desktop>,
    input: Option<String>,
    output: Option<String>,
) -> Result<(), Sentence> {
    let audio = std::sync::Arc::clone(&desktop.audio);
    tauri::async_runtime::spawn_blocking(move || audio.choose(input, output))
        .await
        .map_err(Sentence::plain)?
}

#[tauri::command]
pub fn set_audio_stages(desktop: State<'_, Desktop>, stages: Stages) -> Result<(), Sentence> {
    desktop.audio.set_stages(stages)
}

#[tauri::command]
pub fn profiles(desktop: State<'_, Desktop>) -> ProfilesView {
    desktop.profiles.view()
}

#[tauri::command]
pub async fn save_profile(
    desktop: State<'_, Desktop>,
    draft: ProfileDraft,
) -> Result<ProfileInfo, ProfileError> {
    desktop.profiles.save(draft).await
}

#[tauri::command]
pub async fn delete_profile(desktop: State<'_, Desktop>, id: String) -> Result<(), ProfileError> {
    desktop.profiles.delete(&id).await
}

#[tauri::command]
pub fn select_profile(desktop: State<'_, Desktop>, id: String) -> Result<(), ProfileError> {
    desktop.profiles.select(&id)
}

/// The report goes to the Downloads folder (the home folder when the
/// system names none): where the shell's paths are, the core writes it.
#[tauri::command]
pub fn save_call_report<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
) -> Result<String, Sentence> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| Sentence::new("report.noFolder").with("why", e))?;
    desktop
        .calls
        .save_report(&dir)
        .map(|p| p.display().to_string())
}

#[tauri::command]
pub fn language_view(desktop: State<'_, Desktop>) -> LanguageView {
    desktop.language.view()
}

/// The tray speaks the new language at once, like the page.
#[tauri::command]
pub fn choose_language<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    code: Option<String>,
) -> Result<LanguageView, Sentence> {
    let view = desktop.language.choose(code)?;
    crate::tray::redraw(&app);
    Ok(view)
}
