//! Diagnostics as a person uses them (`scripts/test diagnostics`: the real
//! app under tauri-driver, a real livekit-server in its own network
//! namespace, LiveKit's Python SDK as the peer): the call report saved
//! after a 35 s cut tells the cut in order, with times, and holds no
//! secret; the stats panel shows the loss and round trip put on the link,
//! and the peer's quality says why. Screenshots in artifacts/.

use std::time::Duration;

use rtcstack_testbench::app::artifacts_dir;
use rtcstack_testbench::netchange::{wall_ms, AppCall, Far};
use rtcstack_testbench::netns::Netem;
use rtcstack_testbench::tokens::{find_jwts, holds_secret};
use rtcstack_testbench::window::median;

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// Longer than the server keeps a session it cannot reach (its departure
/// timeout, 20 s): the call comes back by joining again.
const CUT: Duration = Duration::from_secs(35);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_call_report_tells_a_35_s_cut_in_order_and_holds_no_secret() {
    let far = Far::start("diag-report").await.unwrap();
    let url = far.server.url();
    // The report goes to the Downloads folder the system names: a folder
    // of the test's own (XDG's user-dirs.dirs in a private config home).
    let config = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.path().display()),
    )
    .unwrap();
    let config_home = config.path().to_str().unwrap().to_string();
    let call = AppCall::join(far, &url, &[("XDG_CONFIG_HOME", &config_home)])
        .await
        .unwrap();

    let cut_ms = wall_ms();
    call.far.server.link().unwrap().cut().unwrap();
    // The fault's length, not a wait for anything.
    tokio::time::sleep(CUT).await;
    let restored_ms = wall_ms();
    call.far.server.link().unwrap().restore().unwrap();
    call.wait_view("connected again", restored_ms, SECS(45), |v| {
        v.state == "connected"
    })
    .await
    .unwrap();

    call.app.click("save-report").await.unwrap();
    let said = call
        .app
        .wait_text("[data-testid=report-saved]", SECS(5), |t| !t.is_empty())
        .await
        .unwrap();
    let path = said
        .strip_prefix("Saved: ")
        .unwrap_or_else(|| panic!("the page says {said:?}"));
    assert!(
        path.starts_with(downloads.path().to_str().unwrap()),
        "saved outside Downloads: {path}"
    );
    let shot = call
        .app
        .window_pixels("diagnostics-report-saved")
        .await
        .unwrap();
    let seen = call.app.box_pixels(&shot, "report-saved").await.unwrap();
    assert!(seen.painted(), "'Saved' not drawn: {}", seen.path.display());

    let text = std::fs::read_to_string(path).unwrap();
    std::fs::copy(
        path,
        artifacts_dir()
            .unwrap()
            .join("diagnostics-call-report.json"),
    )
    .unwrap();
    // No token, no API secret.
    assert_eq!(find_jwts(text.as_bytes()), Vec::<String>::new());
    assert!(
        !holds_secret(text.as_bytes(), call.far.server.api_secret()),
        "the report holds the API secret"
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let timeline = report["timeline"].as_array().unwrap();
    let at = |e: &serde_json::Value| e["atMs"].as_f64().unwrap();
    assert!(
        timeline.windows(2).all(|w| at(&w[0]) <= at(&w[1])),
        "the timeline is not in time order"
    );
    let kind = |e: &serde_json::Value| e["kind"].as_str().unwrap_or("").to_string();
    let is_state = |e: &serde_json::Value, s: &str| kind(e) == "state" && e["state"] == s;
    // The cut: lost within 15 s of it, then attempts 1, 2, 3… in order,
    // back by joining again within 30 s of the restore, then connected.
    let lost = timeline
        .iter()
        .position(|e| is_state(e, "reconnecting"))
        .expect("no reconnecting in the report");
    let back = timeline
        .iter()
        .position(|e| kind(e) == "reconnected")
        .expect("no reconnected in the report");
    assert!(lost < back);
    assert!(
        (cut_ms..cut_ms + 15_000.0).contains(&at(&timeline[lost])),
        "lost at {} ms after the cut",
        at(&timeline[lost]) - cut_ms
    );
    assert!(
        (restored_ms..restored_ms + 30_000.0).contains(&at(&timeline[back])),
        "back at {} ms after the restore",
        at(&timeline[back]) - restored_ms
    );
    assert_eq!(timeline[back]["how"], "rejoin", "{}", timeline[back]);
    let attempts: Vec<u64> = timeline[lost..back]
        .iter()
        .filter(|e| kind(e) == "attempt")
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect();
    assert!(attempts.len() >= 2, "attempts {attempts:?}");
    assert_eq!(
        attempts,
        (1..=attempts.len() as u64).collect::<Vec<_>>(),
        "attempts not numbered 1, 2, 3…"
    );
    // The state comes with the return (the SDK says `connected`, then
    // how): after the last attempt.
    let last_attempt = lost
        + timeline[lost..back]
            .iter()
            .rposition(|e| kind(e) == "attempt")
            .unwrap();
    assert!(
        timeline[last_attempt..]
            .iter()
            .any(|e| is_state(e, "connected")),
        "not connected after the last attempt"
    );
    let summary: Vec<&str> = report["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(summary.contains(&"Outages: 1"), "{summary:?}");
    // As the summary writes a time since the join: "37.8 s", "1 min 05 s".
    let since = (at(&timeline[back]) - at(&timeline[0])) as u64;
    let since = if since < 60_000 {
        format!("{:.1} s", since as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", since / 60_000, since / 1000 % 60)
    };
    let outage = format!("back by joining again at +{since}");
    assert!(
        summary.iter().any(|l| l.contains(&outage)),
        "{outage:?} not in {summary:?}"
    );
    call.app.close().await.unwrap();
}

/// The peer's audio as the stats panel shows it: (loss %, round trip ms),
/// read off the page as rendered (`innerText`: nothing for what is not
/// drawn).
async fn panel(call: &AppCall) -> Option<(f64, f64)> {
    let js = "const row = document.querySelector(\
                '[data-testid=stats-row][data-identity=\"py-440\"][data-way=in]'); \
              const c = document.querySelector('[data-testid=stats-connections]'); \
              return row && c ? [row.cells[3].innerText, c.innerText] : null;";
    let v = call.js(js).await.ok()?;
    let loss = v[0].as_str()?.trim_end_matches(" %").parse().ok()?;
    let rtt = v[1]
        .as_str()?
        .strip_prefix("Round trip ")?
        .split(" ms")
        .next()?
        .parse()
        .ok()?;
    Some((loss, rtt))
}

/// Median of `n` panel readings, one a second (the panel's loss is a rate
/// over 10 s, so a reading alone swings by a percent or two at 50 packets
/// a second).
async fn median_of(call: &AppCall, n: usize) -> (f64, f64) {
    let mut losses = Vec::new();
    let mut rtts = Vec::new();
    let mut tick = tokio::time::interval(SECS(1));
    let deadline = std::time::Instant::now() + SECS(3 * n as u64);
    while losses.len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the panel gave {} readings of {n}",
            losses.len()
        );
        tick.tick().await;
        if let Some((loss, rtt)) = panel(call).await {
            losses.push(loss);
            rtts.push(rtt);
        }
    }
    let (loss, rtt) = (median(&losses), median(&rtts));
    eprintln!("panel: loss {losses:?} → {loss}; round trip {rtts:?} → {rtt}");
    (loss, rtt)
}

/// Waits (`within`) until the panel satisfies `ok`.
async fn panel_until(call: &AppCall, what: &str, within: Duration, ok: impl Fn(f64, f64) -> bool) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now = panel(call).await;
        if now.is_some_and(|(l, r)| ok(l, r)) {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "{what}: the panel shows {now:?}: {:?} / {:?}",
                call.app.text("stats-connections").await,
                call.app.text("stats-rows").await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_panel_shows_loss_and_round_trip_and_the_quality_says_why() {
    let far = Far::start("diag-stats").await.unwrap();
    let url = far.server.url();
    let call = AppCall::join(far, &url, &[]).await.unwrap();
    call.app.click("stats-open").await.unwrap();
    call.app.wait_visible("stats-rows", SECS(5)).await.unwrap();

    // A clean link: no loss, a loopback's round trip.
    panel_until(&call, "the peer's audio listed", SECS(15), |_, _| true).await;
    let (loss, rtt) = median_of(&call, 5).await;
    assert!(loss < 1.0, "loss {loss} % on a clean link");
    assert!(rtt < 20.0, "round trip {rtt} ms on a clean link");

    // 10 % of packets lost each way: once the panel's window is all lossy
    // (loss seen, then 10 s more), the median reading is 7–13 %.
    let link = call.far.server.link().unwrap();
    link.degrade(Netem {
        loss_percent: 10.0,
        delay_ms: 0,
        jitter_ms: 0,
    })
    .unwrap();
    panel_until(&call, "loss shown", SECS(15), |l, _| l >= 3.0).await;
    tokio::time::sleep(SECS(10)).await; // the window's length
    let (loss, _) = median_of(&call, 9).await;
    assert!((7.0..=13.0).contains(&loss), "loss {loss} % under 10 %");
    // The peer's quality says why, beside it.
    let reason = call
        .app
        .wait_text(
            "li[data-identity=py-440] [data-testid=quality-reason]",
            SECS(5),
            |t| t.contains("packet loss"),
        )
        .await
        .unwrap();
    eprintln!("the peer's quality: {reason}");
    // And ours: the loss is on our link.
    let ours = call
        .app
        .wait_text(
            "[data-testid=local-quality] [data-testid=quality-reason]",
            SECS(5),
            |t| t.contains("packet loss on your connection"),
        )
        .await
        .unwrap();
    eprintln!("our quality: {ours}");
    // Drawn: the reason beside a quality and the table. (The qualities are
    // drawn anew with each view, once a second here: a screenshot taken as
    // one is replaced is taken again.)
    let deadline = std::time::Instant::now() + SECS(5);
    loop {
        let shot = call
            .app
            .window_pixels("diagnostics-stats-loss")
            .await
            .unwrap();
        let reason = call.app.box_pixels(&shot, "quality-reason").await.unwrap();
        let table = call.app.box_pixels(&shot, "stats-rows").await.unwrap();
        if reason.painted() && table.painted() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not drawn: the reason {reason}; the table {table}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 150 ms each way instead: a round trip of at least 280 ms shown.
    link.degrade(Netem {
        loss_percent: 0.0,
        delay_ms: 150,
        jitter_ms: 0,
    })
    .unwrap();
    panel_until(&call, "the round trip", SECS(30), |_, r| r >= 280.0).await;
    call.app
        .wait_text("[data-testid=stats-connections]", SECS(1), |t| {
            !t.is_empty()
        })
        .await
        .unwrap();
    call.app
        .window_pixels("diagnostics-stats-delay")
        .await
        .unwrap();
    link.clear_degrade().unwrap();
    call.app.close().await.unwrap();
}
