//! The native path: the picture drawn outside the webview, by GTK, in a
//! widget laid over it, as a window of the app could draw its tiles. This
//! process stands for the app's: it decodes the VP8 frames (forwarded as
//! they came, as on the WebCodecs path), halves them to the tile, converts
//! them to the X server's BGRX and paints them with cairo, with a WebKit
//! webview beside it as the app's window has: under the tile, or over it
//! with the tile's part of the page left transparent and a caption drawn
//! by the page on the picture (as the app's tiles have theirs). It speaks the page's
//! protocol over the same socket (status lines, each picture acknowledged
//! once painted, the tile read back on "snap"), so the bench's measuring
//! is the same for every path. The tile is read back from the display
//! (what is on screen), not from our own buffer.

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use gtk::prelude::*;
use gtk::{cairo, gdk, glib};
use rtcstack_testbench::vpx_frames;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webkit2gtk::WebViewExt;

/// The process's name, so the bench's split by process tells it apart.
pub const NAME: &str = "native-tile";

/// Where the picture is, against the webview.
#[derive(Clone, Copy, PartialEq)]
pub enum Layer {
    /// Painted over the webview: the page cannot draw on it.
    Over,
    /// Under a webview that is transparent where the tile is, so the
    /// page's caption is drawn on the picture: every picture painted is
    /// blended with the webview's.
    Under,
}

/// The caption the page draws on the picture (under the picture's
/// layer): its box from the tile's bottom-left corner, and its colour.
const CAPTION: (u32, u32) = (80, 20);
const CAPTION_RGB: [u8; 3] = [16, 16, 16];

/// What the socket's thread hands the GTK thread.
enum Told {
    Picture {
        seq: u64,
        bgrx: Vec<u8>,
        w: u32,
        h: u32,
    },
    Snap,
    Error(String),
}

pub fn run(port: u16, tile: (u32, u32), layer: Layer) -> Result<()> {
    std::fs::write("/proc/self/comm", NAME).context("naming the process")?;
    gtk::init().context("GTK could not start (no display?)")?;
    let (tw, th) = tile;
    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_default_size(tw as i32 + 100, th as i32 + 100);
    let overlay = gtk::Overlay::new();
    let web = webkit2gtk::WebView::new();
    let area = gtk::DrawingArea::new();
    area.set_size_request(tw as i32, th as i32);
    area.set_halign(gtk::Align::Start);
    area.set_valign(gtk::Align::Start);
    let (cw, ch) = CAPTION;
    let [r, g, b] = CAPTION_RGB;
    match layer {
        Layer::Over => {
            // The app's grid behind its tiles: a dark page, the tile's box.
            web.load_html(
                &format!(
                    r#"<html><body style="margin:0;background:#1b1d21"><div style="width:{tw}px;height:{th}px;background:#2a2d33;border-radius:8px"></div></body></html>"#
                ),
                None,
            );
            overlay.add(&web);
            overlay.add_overlay(&area);
        }
        Layer::Under => {
            // The page dark around a transparent tile (its shadow), the
            // caption on the tile's bottom-left corner.
            web.set_background_color(&gdk::RGBA::new(0.0, 0.0, 0.0, 0.0));
            web.load_html(
                &format!(
                    r#"<html><body style="margin:0;background:transparent;overflow:hidden"><div style="position:relative;width:{tw}px;height:{th}px;box-shadow:0 0 0 4000px #1b1d21"><div style="position:absolute;left:0;bottom:0;width:{cw}px;height:{ch}px;background:rgb({r},{g},{b})"></div></div></body></html>"#
                ),
                None,
            );
            overlay.add(&area);
            overlay.add_overlay(&web);
        }
    }
    window.add(&overlay);
    window.connect_destroy(|_| gtk::main_quit());
    window.show_all();

    let (to_gtk, mut told) = mpsc::unbounded_channel::<Told>();
    let (to_socket, outgoing) = mpsc::unbounded_channel::<Message>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let result = match runtime {
            Ok(rt) => rt.block_on(socket(port, tile, to_gtk.clone(), outgoing)),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            let _ = to_gtk.send(Told::Error(format!("{e:#}")));
        }
    });

    // The picture painted last, and whether its number was acknowledged.
    let shown: Rc<RefCell<Option<(u64, cairo::ImageSurface)>>> = Rc::default();
    let acked = Rc::new(Cell::new(0u64));
    let drawn = Rc::new(Cell::new(0u64));
    {
        let shown = Rc::clone(&shown);
        let acked = Rc::clone(&acked);
        let drawn = Rc::clone(&drawn);
        let to_socket = to_socket.clone();
        area.connect_draw(move |_, cr| {
            if let Some((seq, surface)) = shown.borrow().as_ref() {
                let painted = cr
                    .set_source_surface(surface, 0.0, 0.0)
                    .and_then(|()| cr.paint());
                match painted {
                    Ok(()) if acked.get() != *seq => {
                        acked.set(*seq);
                        drawn.set(drawn.get() + 1);
                        let _ = to_socket.send(Message::Text(seq.to_string().into()));
                    }
                    Ok(()) => {}
                    Err(e) => {
                        let _ = to_socket.send(Message::Text(format!("S error paint {e}").into()));
                    }
                }
            }
            glib::Propagation::Stop
        });
    }
    {
        let to_socket = to_socket.clone();
        let drawn = Rc::clone(&drawn);
        let overlay = overlay.clone();
        glib::timeout_add_local(Duration::from_millis(500), move || {
            let status = format!(
                "S drawn {} errors 0 window {} {}",
                drawn.get(),
                overlay.allocated_width(),
                overlay.allocated_height()
            );
            let _ = to_socket.send(Message::Text(status.into()));
            glib::ControlFlow::Continue
        });
    }
    glib::MainContext::default().spawn_local(async move {
        while let Some(t) = told.recv().await {
            match t {
                Told::Picture { seq, bgrx, w, h } => {
                    match cairo::ImageSurface::create_for_data(
                        bgrx,
                        cairo::Format::Rgb24,
                        w as i32,
                        h as i32,
                        w as i32 * 4,
                    ) {
                        Ok(surface) => {
                            *shown.borrow_mut() = Some((seq, surface));
                            area.queue_draw();
                        }
                        Err(e) => {
                            let _ = to_socket
                                .send(Message::Text(format!("S error surface {e}").into()));
                        }
                    }
                }
                Told::Snap => {
                    let message = match snap(&area, tile, layer) {
                        Ok(rgba) => Message::Binary(rgba.into()),
                        Err(e) => Message::Text(format!("S error snap {e:#}").into()),
                    };
                    let _ = to_socket.send(message);
                }
                Told::Error(e) => {
                    let _ = to_socket.send(Message::Text(format!("S error {e}").into()));
                }
            }
        }
    });
    gtk::main();
    Ok(())
}

/// The tile as the display shows it, RGBA rows packed; under the page, its
/// caption must show on the picture.
fn snap(area: &gtk::DrawingArea, (tw, th): (u32, u32), layer: Layer) -> Result<Vec<u8>> {
    use gdk::prelude::WindowExtManual;
    let window = area.window().context("the tile has no window")?;
    let pixbuf = window
        .pixbuf(0, 0, tw as i32, th as i32)
        .context("the display gave no pixels")?;
    let (stride, channels) = (pixbuf.rowstride() as usize, pixbuf.n_channels() as usize);
    let bytes = pixbuf.read_pixel_bytes();
    let mut rgba = Vec::with_capacity((tw * th * 4) as usize);
    for y in 0..th as usize {
        for x in 0..tw as usize {
            let at = y * stride + x * channels;
            let p = bytes.get(at..at + 3).context("a short pixbuf")?;
            rgba.extend_from_slice(&[p[0], p[1], p[2], 255]);
        }
    }
    if layer == Layer::Under {
        let at = (((th - CAPTION.1 / 2) * tw + CAPTION.0 / 2) * 4) as usize;
        let seen = &rgba[at..at + 3];
        if seen.iter().zip(CAPTION_RGB).any(|(s, c)| s.abs_diff(c) > 8) {
            anyhow::bail!("the page's caption is not on the picture: {seen:?} where it is");
        }
    }
    Ok(rgba)
}

/// The bench's socket: frames in (sequence number, key flag, VP8),
/// decoded, fitted to the tile and converted here, off the GTK thread, as
/// the app's engine would.
async fn socket(
    port: u16,
    tile: (u32, u32),
    to_gtk: mpsc::UnboundedSender<Told>,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
) -> Result<()> {
    // Nagle's algorithm off, as a browser's websocket has it: each
    // acknowledgement is one small write.
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://127.0.0.1:{port}/"), None, true)
            .await?;
    let (mut tx, mut rx) = ws.split();
    tokio::spawn(async move {
        while let Some(m) = outgoing.recv().await {
            if tx.send(m).await.is_err() {
                break;
            }
        }
    });
    let mut decoder = rtcstack_vpx::Decoder::new(rtcstack_vpx::Codec::Vp8)?;
    while let Some(m) = rx.next().await {
        match m? {
            Message::Binary(b) if b.len() > 9 => {
                let seq = u64::from_le_bytes(b[..8].try_into()?);
                let picture = vpx_frames::decode(&mut decoder, &b[9..])?;
                let shown = picture.fitted(tile.0, tile.1).unwrap_or(picture);
                // B, G, R, A: what cairo's RGB24 is in memory on a
                // little-endian machine (the last byte ignored).
                let bgrx = shown.to_bgra();
                let (w, h) = (shown.width, shown.height);
                if to_gtk.send(Told::Picture { seq, bgrx, w, h }).is_err() {
                    break;
                }
            }
            Message::Text(t) if t.as_str() == "snap" => {
                let _ = to_gtk.send(Told::Snap);
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}
