//! Our screen capture for Windows, run (`scripts/test windows`, under
//! Xvfb): the engine's capture example built for Windows, reading the
//! screen as the app shares it there (GDI screenshots through xcap, on a
//! thread of their own, converted to I420), run under Wine on the test's
//! X display, with windows of known colours on it.
//!
//! Wine is a second implementation of Windows' API, not Windows: this runs
//! our Windows code path (threads, pacing, pixel conversion, listing)
//! against it. What Wine 8 lacks is left to a Windows machine: cameras
//! (its Media Foundation does not start: 0xC00D36E3) and the list of other
//! applications' windows (xcap reads each window's bounds through DWM's
//! `DWMWA_EXTENDED_FRAME_BOUNDS`, which Wine 8 does not answer, so it lists
//! none).

use std::path::PathBuf;
use std::time::Duration;

use rtcstack_testbench::lines::{Line, Lines};
use rtcstack_testbench::wine::Wine;
use rtcstack_testbench::x_window::ColourWindow;
use serde_json::{json, Value};

const SECS: fn(u64) -> Duration = Duration::from_secs;

const RED: [u8; 3] = [220, 30, 30];
const BLUE: [u8; 3] = [30, 60, 220];

fn capture_exe() -> PathBuf {
    std::env::var_os("RTCSTACK_WINDOWS_CAPTURE")
        .map(PathBuf::from)
        .expect("RTCSTACK_WINDOWS_CAPTURE is not set: run this through scripts/test windows")
}

/// The colour at a point, as the example printed it for one picture.
fn colour(picture: &Line, i: usize) -> Option<[u8; 3]> {
    serde_json::from_value(picture.0["picture"]["at"][i]["rgb"].clone()).ok()
}

/// Within what converting to I420 and back moves a flat colour.
fn near(seen: Option<[u8; 3]>, want: [u8; 3]) -> bool {
    seen.is_some_and(|s| s.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 12))
}

fn pictures(lines: &Lines) -> Vec<Line> {
    lines
        .all()
        .into_iter()
        .filter(|l| l.0.get("picture").is_some())
        .collect()
}

#[tokio::test]
async fn the_windows_screen_reader_shows_the_display_live_and_paced_under_wine() {
    let exe = capture_exe();
    let wine = Wine::new().await.unwrap();
    let red = ColourWindow::show(RED, 200, 150, 240, 160).unwrap();
    let _blue = ColourWindow::show(BLUE, 700, 400, 200, 120).unwrap();
    let (w, h) = red.screen;

    // What may be shared: the screen. Wine lists its own windows only (none
    // here), and it has no camera service: a clear error, no crash.
    let list = wine.spawn(&exe, &["list"]).unwrap();
    let listed = list
        .lines
        .expect_after(
            "list",
            0,
            "the list",
            |l| l.0.get("shareables").is_some(),
            SECS(60),
        )
        .await
        .unwrap();
    assert_eq!(
        listed.0["shareables"],
        json!({ "ok": [{ "target": { "kind": "screen" }, "title": "" }] })
    );
    let cameras = listed.0["cameras"]["error"].as_str().unwrap_or_default();
    assert!(
        cameras.starts_with("the camera service cannot be reached"),
        "{}",
        listed.0
    );

    // The whole screen: red inside the red window, blue inside the blue,
    // black elsewhere.
    // The red window covers x 200..=439, y 150..=309: its middle, the blue
    // one's, a corner, then just inside and just outside its top-left and
    // bottom-right corners (each a whole 2x2 block of the picture's
    // colour, so the pixels' place is pinned, not blurred by chroma).
    let points = [
        "320,230", "800,460", "60,700", "202,152", "197,147", "437,307", "442,312",
    ];
    let mut args = vec!["screen", "--pictures", "40"];
    for p in &points {
        args.extend(["--at", p]);
    }
    let mut screen = wine.spawn(&exe, &args).unwrap();
    let opened = screen
        .lines
        .expect_after(
            "screen",
            0,
            "the screen opened",
            |l| l.0.get("opened").is_some() || l.0.get("error").is_some(),
            SECS(60),
        )
        .await
        .unwrap();
    assert_eq!(
        opened.0,
        json!({ "opened": { "width": w, "height": h, "fps": 10 } }),
        "opened at the display's size, at the sharing rate"
    );
    let is_picture = |l: &Line| l.0.get("picture").is_some();
    let first = screen
        .lines
        .expect_after("screen", 0, "a picture", is_picture, SECS(10))
        .await
        .unwrap();
    assert_eq!(
        (&first.0["picture"]["width"], &first.0["picture"]["height"]),
        (&json!(w), &json!(h))
    );
    assert!(near(colour(&first, 0), RED), "{}", first.0);
    assert!(near(colour(&first, 1), BLUE), "{}", first.0);
    assert!(near(colour(&first, 2), [0, 0, 0]), "{}", first.0);
    for (i, want) in [(3, RED), (4, [0, 0, 0]), (5, RED), (6, [0, 0, 0])] {
        assert!(
            near(colour(&first, i), want),
            "point {}: {}",
            points[i],
            first.0
        );
    }

    // Live, not a first picture kept: the red window closed, the pictures
    // that follow show what was under it within half a second (five
    // pictures at 10 a second).
    let mark = screen.lines.mark();
    let closed_at = pictures(&screen.lines).len();
    drop(red);
    let after = screen
        .lines
        .expect_after(
            "screen",
            mark,
            "a picture without the red window, with the blue",
            |l| is_picture(l) && near(colour(l, 0), [0, 0, 0]) && near(colour(l, 1), BLUE),
            SECS(10),
        )
        .await
        .unwrap();
    let seen = pictures(&screen.lines);
    let shown_after = seen.iter().position(|p| p.0 == after.0).unwrap() - closed_at;
    assert!(
        (1..=5).contains(&(shown_after + 1)),
        "the closed window was gone from picture {} after its close",
        shown_after + 1
    );

    // All 40 read, at the sharing rate: 10 a second, not faster (a reader
    // that does not pace) and not much slower (a screenshot too slow).
    screen
        .lines
        .expect_after(
            "screen",
            0,
            "its end",
            |l| l.0.get("ended").is_some(),
            SECS(30),
        )
        .await
        .unwrap();
    let all = pictures(&screen.lines);
    assert_eq!(all.len(), 40, "{}", screen.lines.last(5));
    let times: Vec<f64> = all
        .iter()
        .filter_map(|p| p.0["picture"]["after_ms"].as_f64())
        .collect();
    let mut gaps: Vec<f64> = times.windows(2).map(|t| t[1] - t[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (85.0..=130.0).contains(&median),
        "median gap between pictures {median} ms; gaps {gaps:?}"
    );
    eprintln!(
        "windows capture under Wine: the closed window gone from picture {} after its close; \
         median gap {median:.0} ms ({:.0}..{:.0})",
        shown_after + 1,
        gaps[0],
        gaps[gaps.len() - 1]
    );
    let status = tokio::time::timeout(SECS(20), screen.child.wait())
        .await
        .expect("the example did not exit after its last picture")
        .unwrap();
    assert!(status.success(), "{status}");
    let last: Value = screen.lines.all().last().unwrap().0.clone();
    assert_eq!(last["ended"], json!(false), "the screen never ends: {last}");
}
