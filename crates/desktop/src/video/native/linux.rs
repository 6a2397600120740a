//! The tiles' pictures on Linux: GTK widgets over the webview in its window
//! (an overlay put where the webview was), painted with cairo. A tile is
//! one widget per piece of it the page does not show through, each
//! painting its part of the same picture; clicks pass through to the page.

use super::{in_units, pieces, Area, Painted, Placement};
use gtk::prelude::*;
use gtk::{cairo, glib};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Whether the window's webview has the overlay: the page draws every
/// picture itself until then.
static ATTACHED: AtomicBool = AtomicBool::new(false);

/// Pictures painted, all tiles: what the page's count of frames drawn is
/// for its own tiles.
static PAINTED: AtomicU64 = AtomicU64::new(0);

/// Pictures the window has painted so far.
pub fn painted() -> u64 {
    PAINTED.load(Ordering::Relaxed)
}

/// The newest picture of each track not yet handed to the GTK thread: a
/// GTK thread behind takes only the newest, never a queue.
static WAITING: Mutex<Option<HashMap<String, Painted>>> = Mutex::new(None);

thread_local! {
    /// The tiles, on the GTK thread (GTK's objects stay on it).
    static TILES: RefCell<Option<Tiles>> = const { RefCell::new(None) };
}

struct Tiles {
    overlay: gtk::Overlay,
    placed: HashMap<String, Tile>,
    /// Told a placed tile's first picture (its track): the page shows the
    /// tile as live from then on, not before (an empty box otherwise).
    on_shown: Box<dyn Fn(&str)>,
}

struct Tile {
    pieces: Vec<Piece>,
    look: Rc<RefCell<Look>>,
}

/// A widget painting one piece of a tile, and where that piece is in the
/// webview, in device pixels (its allocation lags a move, and is in the
/// toolkit's units).
struct Piece {
    widget: gtk::DrawingArea,
    part: Rc<Cell<Area>>,
}

/// What a tile's widgets paint.
struct Look {
    placement: Placement,
    picture: Option<cairo::ImageSurface>,
}

/// Puts the window's webview in an overlay the pictures go over. On the
/// GTK thread, once. Not done where `RTCSTACK_VIDEO_IN_PAGE` is set (the
/// tests' way to the page's own drawing, the other systems' way).
/// `on_shown` is told, on the GTK thread, each placed tile's first picture.
pub fn attach(
    webview: &impl IsA<gtk::Widget>,
    on_shown: impl Fn(&str) + 'static,
) -> Result<(), String> {
    if std::env::var_os("RTCSTACK_VIDEO_IN_PAGE").is_some() {
        return Err("RTCSTACK_VIDEO_IN_PAGE is set".into());
    }
    let webview = webview.as_ref();
    let parent = webview.parent().ok_or("the webview has no parent")?;
    let container = parent
        .downcast::<gtk::Container>()
        .map_err(|p| format!("the webview is in a {}", p.type_().name()))?;
    container.remove(webview);
    let overlay = gtk::Overlay::new();
    overlay.add(webview);
    match container.downcast::<gtk::Box>() {
        Ok(b) => b.pack_start(&overlay, true, true, 0),
        Err(c) => c.add(&overlay),
    }
    overlay.show_all();
    // Taken out of the window and put back, it lost the keyboard's focus
    // (seen: the page drew no focus ring on Tab).
    webview.grab_focus();
    TILES.with(|t| {
        *t.borrow_mut() = Some(Tiles {
            overlay,
            placed: HashMap::new(),
            on_shown: Box::new(on_shown),
        })
    });
    ATTACHED.store(true, Ordering::Release);
    Ok(())
}

/// The page's tiles, all of them: those not named go. Whether the window
/// draws them (false: the page must).
pub fn place(placements: Vec<Placement>) -> bool {
    if !ATTACHED.load(Ordering::Acquire) {
        return false;
    }
    glib::MainContext::default().invoke(move || {
        TILES.with(|t| {
            if let Some(tiles) = t.borrow_mut().as_mut() {
                tiles.place(placements);
            }
        })
    });
    true
}

/// A new picture for `track_sid`'s tile, from any thread.
pub fn paint(track_sid: String, painted: Painted) {
    let mut waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
    let waiting = waiting.get_or_insert_with(HashMap::new);
    // One hand-over per track in flight: it takes whatever is newest.
    if waiting.insert(track_sid.clone(), painted).is_some() {
        return;
    }
    glib::MainContext::default().invoke(move || {
        let newest = WAITING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .and_then(|w| w.remove(&track_sid));
        let Some(painted) = newest else {
            return;
        };
        TILES.with(|t| {
            if let Some(tiles) = t.borrow_mut().as_mut() {
                tiles.paint(&track_sid, painted);
            }
        })
    });
}

impl Tiles {
    fn place(&mut self, placements: Vec<Placement>) {
        let named: HashSet<&str> = placements.iter().map(|p| p.track_sid.as_str()).collect();
        let gone: Vec<String> = self
            .placed
            .keys()
            .filter(|k| !named.contains(k.as_str()))
            .cloned()
            .collect();
        for key in gone {
            if let Some(tile) = self.placed.remove(&key) {
                for p in tile.pieces {
                    self.overlay.remove(&p.widget);
                }
            }
        }
        for p in placements {
            let parts = p.shown().map(|s| pieces(s, &p.holes)).unwrap_or_default();
            let tile = self
                .placed
                .entry(p.track_sid.clone())
                .or_insert_with(|| Tile {
                    pieces: Vec::new(),
                    look: Rc::new(RefCell::new(Look {
                        placement: p.clone(),
                        picture: None,
                    })),
                });
            tile.look.borrow_mut().placement = p;
            // As many widgets as pieces, each moved to its own.
            while tile.pieces.len() > parts.len() {
                if let Some(p) = tile.pieces.pop() {
                    self.overlay.remove(&p.widget);
                }
            }
            while tile.pieces.len() < parts.len() {
                let p = piece(&tile.look);
                self.overlay.add_overlay(&p.widget);
                self.overlay.set_overlay_pass_through(&p.widget, true);
                tile.pieces.push(p);
            }
            let has_picture = tile.look.borrow().picture.is_some();
            // The page's boxes are device pixels; GTK lays out in its
            // screen's units (2 device pixels each on a HiDPI screen).
            let scale = self.overlay.scale_factor();
            for (p, part) in tile.pieces.iter().zip(&parts) {
                p.part.set(*part);
                let at = in_units(*part, scale);
                p.widget.set_margin_start(at.x);
                p.widget.set_margin_top(at.y);
                p.widget.set_size_request(at.width, at.height);
                p.widget.set_visible(has_picture);
                p.widget.queue_draw();
            }
        }
    }

    fn paint(&mut self, track_sid: &str, painted: Painted) {
        let Some(tile) = self.placed.get(track_sid) else {
            return;
        };
        let stride = painted.width as i32 * 4;
        let Ok(surface) = cairo::ImageSurface::create_for_data(
            painted.bgrx,
            cairo::Format::Rgb24,
            painted.width as i32,
            painted.height as i32,
            stride,
        ) else {
            return;
        };
        let first = tile.look.borrow_mut().picture.replace(surface).is_none();
        PAINTED.fetch_add(1, Ordering::Relaxed);
        if first {
            (self.on_shown)(track_sid);
        }
        for p in &tile.pieces {
            p.widget.set_visible(true);
            p.widget.queue_draw();
        }
    }
}

/// One piece of a tile: paints its part of the tile's picture.
fn piece(look: &Rc<RefCell<Look>>) -> Piece {
    let widget = gtk::DrawingArea::new();
    widget.set_halign(gtk::Align::Start);
    widget.set_valign(gtk::Align::Start);
    let part = Rc::new(Cell::new(Area {
        x: 0,
        y: 0,
        width: 0,
        height: 0,
    }));
    let look = Rc::clone(look);
    let at = Rc::clone(&part);
    widget.connect_draw(move |w, cr| {
        // A failed paint leaves the piece as it was until the next picture.
        let _ = draw(cr, &look.borrow(), at.get(), w.scale_factor());
        glib::Propagation::Stop
    });
    Piece { widget, part }
}

/// The picture whole in its box, its aspect kept (as the page's
/// `object-fit: contain`), seen through `part` (device pixels) by a widget
/// on a screen of `units` device pixels to its unit.
fn draw(cr: &cairo::Context, look: &Look, part: Area, units: i32) -> Result<(), cairo::Error> {
    let Some(picture) = &look.picture else {
        return Ok(());
    };
    let p = &look.placement;
    // Drawn in device pixels, from the widget's corner: the picture,
    // fitted to the device box, lands on the screen's own pixels.
    let units = units.max(1);
    let widget = in_units(part, units);
    let (ox, oy) = (widget.x * units, widget.y * units);
    cr.scale(1.0 / f64::from(units), 1.0 / f64::from(units));
    // Only the piece itself: the widget, in whole units, can reach past
    // it into the caption.
    cr.rectangle(
        f64::from(part.x - ox),
        f64::from(part.y - oy),
        f64::from(part.width),
        f64::from(part.height),
    );
    cr.clip();
    let (pw, ph) = (f64::from(picture.width()), f64::from(picture.height()));
    let (bw, bh) = (f64::from(p.picture.width), f64::from(p.picture.height));
    let scale = (bw / pw).min(bh / ph);
    let (dw, dh) = (pw * scale, ph * scale);
    // The picture's top-left in the widget's device pixels.
    let x = f64::from(p.picture.x - ox) + (bw - dw) / 2.0;
    let y = f64::from(p.picture.y - oy) + (bh - dh) / 2.0;
    // Only within the tile's round corners (the page's ground outside).
    let (tx, ty) = (f64::from(p.picture.x - ox), f64::from(p.picture.y - oy));
    let r = f64::from(p.radius.max(0)).min(bw / 2.0).min(bh / 2.0);
    let quarter = std::f64::consts::FRAC_PI_2;
    cr.new_path();
    cr.arc(tx + bw - r, ty + r, r, -quarter, 0.0);
    cr.arc(tx + bw - r, ty + bh - r, r, 0.0, quarter);
    cr.arc(tx + r, ty + bh - r, r, quarter, 2.0 * quarter);
    cr.arc(tx + r, ty + r, r, 2.0 * quarter, 3.0 * quarter);
    cr.close_path();
    cr.clip();
    // The tile's ground where the picture does not reach.
    cr.set_source_rgb(31.0 / 255.0, 36.0 / 255.0, 48.0 / 255.0);
    cr.paint()?;
    cr.save()?;
    cr.translate(x, y);
    if p.mirror {
        cr.translate(dw, 0.0);
        cr.scale(-1.0, 1.0);
    }
    cr.scale(scale, scale);
    cr.set_source_surface(picture, 0.0, 0.0)?;
    cr.source().set_filter(cairo::Filter::Good);
    cr.rectangle(0.0, 0.0, pw, ph);
    cr.fill()?;
    cr.restore()?;
    if p.grey {
        // As the page's `grayscale(1) opacity(0.6)` on the tile's ground.
        cr.set_operator(cairo::Operator::HslSaturation);
        cr.set_source_rgb(0.5, 0.5, 0.5);
        cr.paint()?;
        cr.set_operator(cairo::Operator::Over);
        cr.set_source_rgba(31.0 / 255.0, 36.0 / 255.0, 48.0 / 255.0, 0.4);
        cr.paint()?;
    }
    Ok(())
}
