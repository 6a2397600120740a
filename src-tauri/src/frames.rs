//! The `frame:` scheme the page pulls remote video from:
//! `frame://localhost/<track sid>?after=<n>` answers the track's first
//! frame numbered after n (waiting up to half a second for one), or 204.
//! The work is the desktop core's (`video::Videos`).

use std::time::Duration;

use rtcstack_desktop_core::Desktop;
use tauri::http::{Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

pub const SCHEME: &str = "frame";
/// How long an ask waits for a frame newer than the page's.
const WAIT: Duration = Duration::from_millis(500);

pub fn serve<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let Some(desktop) = ctx.app_handle().try_state::<Desktop>() else {
        responder.respond(answer(StatusCode::SERVICE_UNAVAILABLE, Vec::new()));
        return;
    };
    let videos = std::sync::Arc::clone(&desktop.videos);
    let (track, after) = parse(request.uri());
    tauri::async_runtime::spawn(async move {
        let response = match videos.next(&track, after, WAIT).await {
            Some(body) => answer(StatusCode::OK, body),
            None => answer(StatusCode::NO_CONTENT, Vec::new()),
        };
        responder.respond(response);
    });
}

/// The track sid (the path) and the frame number the page has (`after`,
/// 0 when absent or unreadable).
fn parse(uri: &tauri::http::Uri) -> (String, u64) {
    let track = uri.path().trim_start_matches('/').to_string();
    let after = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("after="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (track, after)
}

fn answer(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/octet-stream")
        // The page's origin is tauri://localhost (http://tauri.localhost
        // on Windows), not this scheme's.
        .header("Access-Control-Allow-Origin", "*")
        .body(body)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_track_and_the_frame_the_page_has_come_from_the_url() {
        let uri: tauri::http::Uri = "frame://localhost/TR_abc?after=41".parse().unwrap();
        assert_eq!(parse(&uri), ("TR_abc".to_string(), 41));
        let uri: tauri::http::Uri = "http://frame.localhost/TR_abc".parse().unwrap();
        assert_eq!(parse(&uri), ("TR_abc".to_string(), 0));
        let uri: tauri::http::Uri = "frame://localhost/TR_x?after=junk".parse().unwrap();
        assert_eq!(parse(&uri), ("TR_x".to_string(), 0));
    }
}
