//! The real app in a real window (`scripts/test app`): built with its UI
//! embedded, started by tauri-driver under Xvfb, read through WebDriver.

use std::time::Duration;

use rtcstack_testbench::app::{distinct_colours, png_size, AppSession};

#[tokio::test]
async fn window_shows_the_ui_with_state_from_rust() {
    let app = AppSession::start(&[]).await.expect("app session");
    assert_eq!(app.client.title().await.unwrap(), "RTCstack");
    // The text comes from the Rust side through a command: a page that
    // loaded without its backend would show "unavailable (…)" instead.
    let state = app
        .wait_text(
            "[data-testid=connection-state]",
            Duration::from_secs(20),
            |t| t != "…",
        )
        .await
        .unwrap();
    assert_eq!(state, "idle");
    // Before any call: the join form, and no reconnect banner.
    app.wait_visible("join-screen", Duration::from_secs(5))
        .await
        .unwrap();
    let banner = app.seen("reconnect-banner").await;
    assert!(
        !banner.visible(),
        "the reconnect banner when idle: {banner}"
    );
    assert!(!app.visible("call-screen").await);
    assert!(!app.visible("failure").await);
    // The X11 screenshot needs Xvfb's tools: Linux only (the release
    // workflow also runs this test on Windows).
    if cfg!(target_os = "linux") {
        window_is_painted(&app).await;
    }
    app.close().await.unwrap();
}

async fn window_is_painted(app: &AppSession) {
    let pixels = app.banner_pixels("app-idle").await.unwrap();
    let shot = &pixels.shot.path;
    let (w, h) = png_size(shot).unwrap();
    assert!(w >= 480 && h >= 400, "window screenshot is {w}x{h}");
    // Painted text, not an empty window.
    let colours = distinct_colours(shot).unwrap();
    assert!(
        colours > 8,
        "window looks blank: {colours} colours in {}",
        shot.display()
    );
    assert!(
        pixels.absent(),
        "the reconnect banner is in the idle window: {pixels}"
    );
}
