//! The socket the page takes remote video from:
//! `ws://127.0.0.1:PORT/TOKEN/TRACK`, one per tile. The page opens with the
//! number of the frame it has and its tile's size (as text, `"N W H"`,
//! then `vp8` if it decodes VP8 itself and `again` if its decoder lost its
//! place) and then tells each frame it took the same way; the socket sends
//! the track's newest frame (binary: header, then RGBA, no larger than the
//! tile needs) as soon as there is one newer than the last sent and the
//! page has taken the one before. A page that draws slowly skips frames
//! instead of queueing them. A large tile that decodes VP8 gets each frame
//! as it came instead, every one (`encoded`).
//!
//! Why a socket: WebKitGTK hands a custom scheme's answer to the page
//! 8 KiB at a time through the UI thread, which held four 360p streams to
//! 4 frames a second; a loopback websocket reaches the page through
//! WebKit's network process, a frame a message. The token (random, per
//! run, never logged) keeps other programs on this computer out.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::{Taking, TileSize, Videos};

/// How long a connection may take to say which track it wants.
const HANDSHAKE: Duration = Duration::from_secs(5);
/// How long one wait for a frame lasts before it is started again (the
/// page's messages are read meanwhile).
const WAIT: Duration = Duration::from_secs(10);
/// Frames on their way to the page at once. Two (the next under way while
/// one is drawn) did worse than one: 7.8 frames a second for four streams
/// against 10–15.
const IN_FLIGHT: usize = 1;
/// The page only ever sends a frame number, a size and two words.
const LARGEST_ASK: usize = 64;

pub struct VideoSocket {
    videos: Arc<Videos>,
    token: String,
    address: OnceLock<SocketAddr>,
}

impl VideoSocket {
    pub fn new(videos: Arc<Videos>) -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        VideoSocket {
            videos,
            token,
            address: OnceLock::new(),
        }
    }

    /// Listens on a free loopback port and serves from there on (on the
    /// current tokio runtime). Once; a second call does nothing.
    pub fn start(self: &Arc<Self>) -> std::io::Result<()> {
        if self.address.get().is_some() {
            return Ok(());
        }
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let _ = self.address.set(listener.local_addr()?);
        let me = Arc::clone(self);
        tokio::spawn(async move { me.accept(listener).await });
        Ok(())
    }

    /// Where the page connects, a track's sid after a slash; `None` until
    /// started (or when it could not listen).
    pub fn base(&self) -> Option<String> {
        let address = self.address.get()?;
        Some(format!("ws://{address}/{}", self.token))
    }

    async fn accept(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let me = Arc::clone(&self);
                    tokio::spawn(async move { me.serve(stream).await });
                }
                Err(err) => {
                    // Out of descriptors, say: a moment, then on.
                    tracing::warn!("video socket: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn serve(&self, stream: TcpStream) {
        // A frame is one write; small asks go out at once.
        let _ = stream.set_nodelay(true);
        let mut track = None;
        // The refusal's type is tungstenite's callback's.
        #[allow(clippy::result_large_err)]
        let check = |request: &Request, response: Response| match track_of(
            request.uri().path(),
            &self.token,
        ) {
            Some(t) => {
                track = Some(t);
                Ok(response)
            }
            None => Err(refusal()),
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(LARGEST_ASK))
            .max_frame_size(Some(LARGEST_ASK));
        let handshake =
            tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config));
        let Ok(Ok(ws)) = tokio::time::timeout(HANDSHAKE, handshake).await else {
            return;
        };
        let Some(track) = track else { return };
        let (mut tx, mut rx) = ws.split();
        // The page's first message opens the flow with the frame it has.
        let Some(Ask {
            drawn: mut sent,
            taking,
        }) = ask(rx.next().await)
        else {
            return;
        };
        let told = Told {
            videos: &self.videos,
            track: &track,
            owner: SOCKETS.fetch_add(1, Ordering::Relaxed),
        };
        told.tell(taking);
        let mut fit = taking.fit;
        // Frames sent and not yet drawn (each drawn one is told).
        let mut unanswered = 0;
        loop {
            if unanswered >= IN_FLIGHT {
                match ask(rx.next().await) {
                    Some(a) => {
                        told.tell(a.taking);
                        (unanswered, fit) = (unanswered - 1, a.taking.fit);
                    }
                    None => return,
                }
                continue;
            }
            tokio::select! {
                message = rx.next() => match ask(message) {
                    Some(a) => {
                        told.tell(a.taking);
                        (unanswered, fit) = (unanswered.saturating_sub(1), a.taking.fit);
                    }
                    None => return,
                },
                frame = self.videos.next(&track, sent, fit, WAIT) => {
                    let Some((seq, frame)) = frame else { continue };
                    if tx.send(Message::binary(frame)).await.is_err() {
                        return;
                    }
                    sent = seq;
                    unanswered += 1;
                }
            }
        }
    }
}

/// A tile's socket tells its track's [`Videos`] what the tile takes, and
/// that it is gone when the socket ends.
struct Told<'a> {
    videos: &'a Videos,
    track: &'a str,
    /// This socket, among all (a tile's next may tell before this one
    /// has ended).
    owner: u64,
}

/// Sockets served so far, to tell them apart.
static SOCKETS: AtomicU64 = AtomicU64::new(0);

impl Told<'_> {
    fn tell(&self, taking: Taking) {
        self.videos.tell(self.track, self.owner, taking);
    }
}

impl Drop for Told<'_> {
    fn drop(&mut self) {
        self.videos.untold(self.track, self.owner);
    }
}

/// What the page says with each frame it takes (and first, of the one it
/// has): `"N"`, `"N WIDTH HEIGHT"` (the tile's size in device pixels),
/// then perhaps `vp8` and `again` ([`Taking`]).
#[derive(Debug, PartialEq, Eq)]
struct Ask {
    drawn: u64,
    taking: Taking,
}

/// What a message from the page says; `None` for a close, a broken
/// connection or anything else (which ends it).
fn ask(message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Option<Ask> {
    let Ok(Message::Text(text)) = message? else {
        return None;
    };
    let mut words = text.as_str().split_ascii_whitespace().peekable();
    let drawn = words.next()?.parse().ok()?;
    let mut taking = Taking {
        fit: None,
        vp8: false,
        again: false,
    };
    if words
        .peek()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
    {
        let (w, h) = (words.next()?, words.next()?);
        taking.fit = Some(TileSize {
            width: w.parse().ok()?,
            height: h.parse().ok()?,
        })
        // An empty tile has nothing to fit.
        .filter(|s| s.width > 0 && s.height > 0);
    }
    for word in words {
        match word {
            "vp8" => taking.vp8 = true,
            "again" => taking.again = true,
            _ => return None,
        }
    }
    Some(Ask { drawn, taking })
}

/// The track a request's path names, if it carries the token:
/// `/TOKEN/TRACK`, the track a sid's characters only.
fn track_of(path: &str, token: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (given, track) = rest.split_once('/')?;
    let sid_like = !track.is_empty()
        && track.len() <= 64
        && track
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (given == token && sid_like).then(|| track.to_string())
}

fn refusal() -> ErrorResponse {
    let mut response = ErrorResponse::new(Some("not a video of this app".into()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack::video::{RemoteVideo, VideoFrame, VideoSink};

    #[test]
    fn a_path_names_its_track_only_with_the_token() {
        assert_eq!(track_of("/abc/TR_x-1", "abc"), Some("TR_x-1".into()));
        assert_eq!(track_of("/abd/TR_x", "abc"), None);
        assert_eq!(track_of("/abc/", "abc"), None);
        assert_eq!(track_of("/abc", "abc"), None);
        assert_eq!(track_of("/abc/TR_x/more", "abc"), None);
        assert_eq!(track_of("/abc/TR%20x", "abc"), None);
        assert_eq!(track_of(&format!("/abc/{}", "T".repeat(65)), "abc"), None);
    }

    #[test]
    fn the_page_asks_with_a_number_and_anything_else_ends_it() {
        let fit = |width, height| Some(TileSize { width, height });
        let said = |t: &'static str| ask(Some(Ok(Message::text(t))));
        let taking = |fit, vp8, again| Taking { fit, vp8, again };
        let asked = |drawn, taking| Some(Ask { drawn, taking });
        assert_eq!(said("41"), asked(41, taking(None, false, false)));
        assert_eq!(
            said("41 290 163"),
            asked(41, taking(fit(290, 163), false, false))
        );
        assert_eq!(said("41 0 163"), asked(41, taking(None, false, false)));
        assert_eq!(
            said("41 1200 675 vp8"),
            asked(41, taking(fit(1200, 675), true, false))
        );
        assert_eq!(
            said("41 1200 675 vp8 again"),
            asked(41, taking(fit(1200, 675), true, true))
        );
        assert_eq!(said("41 vp8"), asked(41, taking(None, true, false)));
        assert_eq!(said("41 290"), None);
        assert_eq!(said("41 290 163 1"), None);
        assert_eq!(said("41 290 163 h264"), None);
        assert_eq!(said("41 -1 163"), None);
        assert_eq!(said("junk"), None);
        assert_eq!(ask(Some(Ok(Message::binary(vec![1u8])))), None);
        assert_eq!(ask(None), None);
    }

    fn frame(luma: u8) -> VideoFrame {
        VideoFrame {
            width: 2,
            height: 2,
            y: vec![luma; 4],
            u: vec![128; 1],
            v: vec![128; 1],
            rtp_timestamp: 0,
        }
    }

    async fn connect(
        url: &str,
    ) -> Result<
        (
            tokio_tungstenite::WebSocketStream<TcpStream>,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    > {
        let host = url.trim_start_matches("ws://").split('/').next().unwrap();
        let tcp = TcpStream::connect(host).await.unwrap();
        tokio_tungstenite::client_async(url, tcp).await
    }

    async fn within(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> Vec<u8> {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        message.unwrap().unwrap().unwrap().into_data().to_vec()
    }

    /// The socket end to end on loopback: refused without the token;
    /// with it, each ask gets the next frame and only when it comes.
    #[tokio::test]
    async fn each_ask_gets_the_next_frame_and_a_stranger_gets_nothing() {
        let videos = Arc::new(Videos::new());
        let socket = Arc::new(VideoSocket::new(Arc::clone(&videos)));
        assert_eq!(socket.base(), None);
        socket.start().unwrap();
        let base = socket.base().unwrap();
        assert!(base.starts_with("ws://127.0.0.1:"), "{base}");

        let stranger = base.rsplit_once('/').unwrap().0.to_string() + "/0000/TR_a";
        match connect(&stranger).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), StatusCode::FORBIDDEN)
            }
            other => panic!("a stranger was not refused: {:?}", other.map(|_| ())),
        }

        let from = RemoteVideo {
            identity: "far".into(),
            track_sid: "TR_a".into(),
        };
        videos.on_frame(&from, &frame(16));
        let (mut ws, _) = connect(&format!("{base}/TR_a")).await.unwrap();
        ws.send(Message::text("0")).await.unwrap();
        let got = ws.next().await.unwrap().unwrap().into_data();
        assert_eq!(u64::from_le_bytes(got[0..8].try_into().unwrap()), 1);
        assert_eq!(got.len(), super::super::HEADER + 2 * 2 * 4);

        // Frame 1 not drawn yet: frame 2 waits.
        videos.on_frame(&from, &frame(235));
        let held = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
        assert!(held.is_err(), "a frame was sent before the last was drawn");
        // Drawn, in a 1x1 tile: frame 2 comes, halved to fit.
        ws.send(Message::text("1 1 1")).await.unwrap();
        let got = within(&mut ws).await;
        assert_eq!(u64::from_le_bytes(got[0..8].try_into().unwrap()), 2);
        assert_eq!(got.len(), super::super::HEADER + 4);
        assert!(got[super::super::HEADER] > 250);

        // Nothing newer than 2 yet: no answer until frame 3 comes.
        ws.send(Message::text("2")).await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
        assert!(early.is_err(), "answered before a frame came");
        videos.on_frame(&from, &frame(16));
        let got = within(&mut ws).await;
        assert_eq!(u64::from_le_bytes(got[0..8].try_into().unwrap()), 3);
    }
}
