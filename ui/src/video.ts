// Remote video tiles. Each tile takes its track's frames from Rust over a
// loopback websocket (one per tile): it sends the number of the frame it
// drew, Rust answers with the next frame (RGBA behind a 16-byte header) as
// soon as there is one, and the tile draws it on a canvas; a slow page skips
// frames rather than queueing them. Tiles tell Rust how large they are
// drawn, or that they are off screen, so the server sends what fits (or
// nothing). Where this webview decodes VP8 (WebCodecs), a large tile may be
// sent each frame as it came instead (a width of 0 in the header, then
// flags: 1 for a key frame), and decodes it here: cheaper at that size.
// Where the window can draw the pictures itself, over the page (Linux), the
// page only says where each tile's picture goes, what of it shows through
// (its caption, the speaker's ring) and whether it is greyed: much cheaper
// than any way into the page.

import type { ConnectionQuality } from "./generated/ConnectionQuality";
import type { Participant } from "./generated/Participant";
import type { TrackInfo as Track } from "./generated/TrackInfo";
import type { QualityReason } from "./generated/QualityReason";
import type { TileSize } from "./generated/TileSize";
import type { Area } from "./generated/Area";
import type { Placement } from "./generated/Placement";
import * as ipc from "./generated/ipc";
import { el } from "./dom";
import { language, t } from "./i18n";
import { qualityIcon } from "./quality";

const HEADER = 16;
/** After a socket closed under a live tile: a moment, then again. */
const AGAIN_MS = 200;

interface Tile {
  sid: string;
  figure: HTMLElement;
  canvas: HTMLCanvasElement;
  caption: HTMLElement;
  /** Shows the tile large, across the row (pressed), or back in the grid. */
  pin: HTMLButtonElement;
  /** What the caption says now (name, quality, why, in which language),
   * to redraw it only when that changes. */
  said: string;
  /** The number of the frame drawn last. */
  seq: number;
  /** Frames drawn, for tests and the benchmark. */
  drawn: number;
  alive: boolean;
  socket: WebSocket | null;
  /** Its drawn size for the socket, "W H" in device pixels ("" unknown). */
  fit: string;
  /** Its decoder, while it is sent frames as they came. */
  decoder: VideoDecoder | null;
  /** Its decoder lost its place: the next ask says so. */
  again: boolean;
  /** An ask is due once the decoder has caught up. */
  owed: boolean;
  /** Its decoders' failures: at a few, the tile takes its frames as RGBA
   * instead, for good (not forgiven when one draws: a decoder that draws
   * its key frame and fails on the next would ask for key frames for
   * ever). */
  failures: number;
  /** What Rust was last told of its size ("" for hidden). */
  told: string;
  visible: boolean;
}

const tiles = new Map<string, Tile>();
(window as unknown as { __rtcstackTiles: Map<string, Tile> }).__rtcstackTiles = tiles;

/** Where the frames come from: asked of Rust once. */
let socketBase: Promise<string | null> | null = null;

/** Whether this webview decodes VP8 itself: asked once. */
let vp8 = false;
if (typeof VideoDecoder !== "undefined") {
  VideoDecoder.isConfigSupported({ codec: "vp8" }).then(
    (r) => (vp8 = r.supported === true),
    () => (vp8 = false),
  );
}

/** Frames waiting in a tile's decoder before it waits to ask for more. */
const DECODE_QUEUE = 4;
/** How long it waits at most: a decoder may hold its output until more
 * input comes (seen: stuck at its second frame waiting for its output). */
const DECODE_WAIT_MS = 100;
/** Decoder failures after which a tile stops decoding. */
const MOST_FAILURES = 3;

/** Draws one frame from the socket; false if it is not one. */
function draw(tile: Tile, ctx: CanvasRenderingContext2D, buf: ArrayBuffer): boolean {
  if (buf.byteLength < HEADER) return false;
  const head = new DataView(buf, 0, HEADER);
  const seq = Number(head.getBigUint64(0, true));
  const w = head.getUint32(8, true);
  const h = head.getUint32(12, true);
  if (buf.byteLength !== HEADER + w * h * 4) return false;
  if (tile.canvas.width !== w || tile.canvas.height !== h) {
    tile.canvas.width = w;
    tile.canvas.height = h;
  }
  stopDecoding(tile);
  ctx.putImageData(new ImageData(new Uint8ClampedArray(buf, HEADER, w * h * 4), w, h), 0, 0);
  tile.seq = seq;
  shown(tile, "rgba");
  return true;
}

/** A picture is on the tile's canvas, drawn the way `way` says. */
function shown(tile: Tile, way: "rgba" | "vp8"): void {
  tile.drawn += 1;
  tile.figure.dataset["way"] = way;
  tile.figure.classList.add("live");
}

/** Sends the ask a decoder behind held back, if one is owed. */
function payOwed(tile: Tile, ws: WebSocket): void {
  if (!tile.owed) return;
  tile.owed = false;
  ws.send(ask(tile));
}

function stopDecoding(tile: Tile): void {
  if (tile.decoder && tile.decoder.state !== "closed") tile.decoder.close();
  tile.decoder = null;
}

/** A frame as it came (after the header: flags, then the frame) into the
 * tile's decoder, which draws it when decoded. */
function decode(tile: Tile, ctx: CanvasRenderingContext2D, buf: ArrayBuffer, ws: WebSocket): void {
  const head = new DataView(buf, 0, HEADER);
  const seq = Number(head.getBigUint64(0, true));
  const key = (head.getUint32(12, true) & 1) === 1;
  tile.seq = seq;
  if (!tile.decoder) {
    // Only from a key frame on: anything else waits for one, asked for.
    if (!key) {
      tile.again = true;
      return;
    }
    // A decoder serves one socket: a new one starts from a key frame.
    const current = (): boolean => tile.decoder === decoder && tile.socket === ws && tile.alive;
    const decoder = new VideoDecoder({
      output: (frame) => {
        if (current()) {
          if (tile.canvas.width !== frame.displayWidth || tile.canvas.height !== frame.displayHeight) {
            tile.canvas.width = frame.displayWidth;
            tile.canvas.height = frame.displayHeight;
          }
          ctx.drawImage(frame, 0, 0);
          shown(tile, "vp8");
          if (decoder.decodeQueueSize < DECODE_QUEUE) payOwed(tile, ws);
        }
        frame.close();
      },
      error: () => {
        if (!current()) return;
        // Started again from the next key frame (asked of Rust), or, after
        // a few failures, taken as RGBA.
        tile.decoder = null;
        tile.again = true;
        tile.failures += 1;
        payOwed(tile, ws);
      },
    });
    decoder.configure({ codec: "vp8" });
    tile.decoder = decoder;
  }
  tile.decoder.decode(
    new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp: seq, data: new Uint8Array(buf, HEADER) }),
  );
}

/** What the tile tells its socket: the frame it has, the size it is
 * drawn at (device pixels), so Rust sends no more pixels than it shows,
 * and whether it decodes VP8 itself (and lost its place doing so). */
function ask(tile: Tile): string {
  let said = tile.fit ? `${tile.seq} ${tile.fit}` : String(tile.seq);
  if (vp8 && tile.failures < MOST_FAILURES) said += " vp8";
  if (tile.again) said += " again";
  tile.again = false;
  return said;
}

/** Whether the window draws the pictures: unknown (null) until it first
 * answers; where it does not, the page stops asking. */
let native: boolean | null = null;
/** Whether the window draws the pictures, as last answered (read anew
 * after a wait: the answer may come meanwhile). */
function windowDraws(): boolean {
  return native === true;
}
/** The placements last sent, to send only changes. */
let placed = "";
let placing = 0;

/** A box in device pixels. */
function area(r: DOMRect): Area {
  const d = devicePixelRatio;
  return {
    x: Math.round(r.left * d),
    y: Math.round(r.top * d),
    width: Math.round(r.width * d),
    height: Math.round(r.height * d),
  };
}

/** The ring's width, as the stylesheet draws it (px). */
const RING = 3;

/** Where each shown tile's picture is, for the window. */
function placements(): Placement[] {
  // The viewport less its scroll bars: a picture must not cover them.
  const view = document.documentElement;
  const seen: Area = {
    x: 0,
    y: 0,
    width: Math.round(view.clientWidth * devicePixelRatio),
    height: Math.round(view.clientHeight * devicePixelRatio),
  };
  const stale = el("video-tiles").classList.contains("stale");
  const out: Placement[] = [];
  for (const tile of tiles.values()) {
    const f = tile.figure;
    if (!tile.visible || f.classList.contains("off") || document.visibilityState !== "visible") continue;
    const picture = area(tile.canvas.getBoundingClientRect());
    if (picture.width <= 0 || picture.height <= 0) continue;
    const holes: Area[] = [area(tile.caption.getBoundingClientRect()), area(tile.pin.getBoundingClientRect())];
    if (f.classList.contains("speaking")) {
      const r = f.getBoundingClientRect();
      holes.push(
        area(new DOMRect(r.left, r.top, r.width, RING)),
        area(new DOMRect(r.left, r.bottom - RING, r.width, RING)),
        area(new DOMRect(r.left, r.top, RING, r.height)),
        area(new DOMRect(r.right - RING, r.top, RING, r.height)),
      );
    }
    const radius = Math.round(parseFloat(getComputedStyle(f).borderTopLeftRadius) * devicePixelRatio) || 0;
    out.push({
      trackSid: tile.sid,
      picture,
      seen,
      holes,
      radius,
      grey: stale,
      mirror: f.classList.contains("preview"),
    });
  }
  return out;
}

/** Tells the window where the pictures go when that changed, each frame
 * while there are tiles (a tile moves when anything above it does). */
function place(): void {
  placing = 0;
  if (native === false) return;
  const list = placements();
  const said = JSON.stringify(list);
  if (said !== placed) {
    placed = said;
    // A tile not placed (out of view, off) loses its picture in the
    // window: it is live again with the next one.
    const named = new Set(list.map((p) => p.trackSid));
    for (const sid of paintedByWindow) {
      if (named.has(sid)) continue;
      paintedByWindow.delete(sid);
      if (windowDraws()) tiles.get(sid)?.figure.classList.remove("live");
    }
    void ipc.placeVideos(list).then(
      (drawn) => {
        if (native === null) {
          native = drawn;
          if (drawn) tiles.forEach(drawnNatively);
        }
      },
      () => (native = false),
    );
  }
  if (tiles.size > 0) placing = requestAnimationFrame(place);
}

/** The window draws this tile's picture: the page's way to it closes. The
 * tile shows as live once the window painted its first picture. */
function drawnNatively(tile: Tile): void {
  stopDecoding(tile);
  const ws = tile.socket;
  tile.socket = null;
  ws?.close();
  tile.figure.dataset["way"] = "native";
  tile.figure.classList.toggle("live", paintedByWindow.has(tile.sid));
}

/** Tracks whose tile the window has a picture for, as it told: it keeps
 * one while the tile stays placed, and tells again after it was not. */
const paintedByWindow = new Set<string>();
void ipc.onVideoShown((sid) => {
  paintedByWindow.add(sid);
  const tile = tiles.get(sid);
  if (tile && windowDraws()) tile.figure.classList.add("live");
});

/** Draws frames as they come until the tile goes. */
async function pull(tile: Tile): Promise<void> {
  if (native === true) {
    drawnNatively(tile);
    return;
  }
  socketBase ??= ipc.videoSocket().catch(() => null);
  const base = await socketBase;
  // The window may have said it draws while the page waited.
  if (windowDraws()) {
    drawnNatively(tile);
    return;
  }
  const ctx = tile.canvas.getContext("2d");
  if (!base || !ctx || !tile.alive) return;
  const ws = new WebSocket(`${base}/${encodeURIComponent(tile.sid)}`);
  ws.binaryType = "arraybuffer";
  tile.socket = ws;
  ws.onopen = () => ws.send(ask(tile));
  ws.onmessage = (e: MessageEvent) => {
    if (!tile.alive || !(e.data instanceof ArrayBuffer)) return;
    const buf = e.data;
    if (buf.byteLength > HEADER && new DataView(buf, 0, HEADER).getUint32(8, true) === 0) {
      decode(tile, ctx, buf, ws);
      // A decoder behind waits before it takes more, a moment at most.
      if (tile.decoder && tile.decoder.decodeQueueSize >= DECODE_QUEUE) {
        tile.owed = true;
        setTimeout(() => {
          if (tile.socket === ws) payOwed(tile, ws);
        }, DECODE_WAIT_MS);
        return;
      }
    } else {
      draw(tile, ctx, buf);
    }
    ws.send(ask(tile));
  };
  ws.onclose = () => {
    if (tile.socket === ws) tile.socket = null;
    // The next socket's frames start from a key frame.
    stopDecoding(tile);
    tile.owed = false;
    if (tile.alive) setTimeout(() => void pull(tile), AGAIN_MS);
  };
}

/** Tells Rust the tile's drawn size (device pixels), or that it is hidden,
 * when that changed. */
function tell(tile: Tile): void {
  const shown = tile.visible && document.visibilityState === "visible";
  const r = tile.canvas.getBoundingClientRect();
  if (r.width > 0 && r.height > 0) {
    tile.fit = `${Math.round(r.width * devicePixelRatio)} ${Math.round(r.height * devicePixelRatio)}`;
  }
  const size: TileSize | null =
    shown && r.width > 0 && r.height > 0
      ? {
          width: Math.round(r.width * devicePixelRatio),
          height: Math.round(r.height * devicePixelRatio),
        }
      : null;
  const key = size ? `${size.width}x${size.height}` : "";
  if (key === tile.told) return;
  tile.told = key;
  // Our own picture comes from here, not from the server.
  if (tile.sid !== ipc.PREVIEW) void ipc.showVideo(tile.sid, size);
}

const visibility = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const tile = [...tiles.values()].find((x) => x.figure === e.target);
    if (!tile) continue;
    tile.visible = e.isIntersecting;
    tell(tile);
  }
});
const sizes = new ResizeObserver((entries) => {
  for (const e of entries) {
    const tile = [...tiles.values()].find((x) => x.canvas === e.target);
    if (tile) tell(tile);
  }
});
// A minimised window pauses every video.
document.addEventListener("visibilitychange", () => tiles.forEach(tell));

function newTile(sid: string): Tile {
  const figure = document.createElement("figure");
  figure.className = "tile";
  figure.dataset["testid"] = "video-tile";
  figure.dataset["track"] = sid;
  const canvas = document.createElement("canvas");
  canvas.dataset["testid"] = "video-canvas";
  const caption = document.createElement("figcaption");
  const pin = document.createElement("button");
  pin.type = "button";
  pin.className = "pin";
  pin.dataset["testid"] = "tile-pin";
  pin.addEventListener("click", () => {
    pinned = pinned === sid ? null : sid;
    arrange();
    // Pinned to be seen: the whole of it brought into the window.
    if (pinned === sid) figure.scrollIntoView({ block: "nearest" });
  });
  figure.append(canvas, caption, pin);
  const tile: Tile = {
    sid,
    figure,
    canvas,
    caption,
    pin,
    said: "",
    seq: 0,
    drawn: 0,
    alive: true,
    socket: null,
    fit: "",
    decoder: null,
    again: false,
    owed: false,
    failures: 0,
    told: "",
    visible: false,
  };
  visibility.observe(figure);
  sizes.observe(canvas);
  void pull(tile);
  return tile;
}

function removeTile(tile: Tile): void {
  tile.alive = false;
  stopDecoding(tile);
  tile.socket?.close();
  visibility.unobserve(tile.figure);
  sizes.unobserve(tile.canvas);
  tile.figure.remove();
}

/** Our own camera, as its tile shows it. */
export type OwnCamera = "none" | "on" | "off";

/** A tile's caption: whose video, and how good their connection is (the
 * same icon as in the list of people, its words in its label); and a note
 * below, if there is one to give (why no picture will come). */
function caption(
  tile: Tile,
  name: string,
  quality: ConnectionQuality,
  reason?: QualityReason,
  note?: string,
): void {
  // The icon's words are in the page's language: another one redraws it,
  // as the list of people's rows are.
  const said = JSON.stringify([name, quality, reason ?? null, note ?? null, language()]);
  if (said === tile.said) return;
  tile.said = said;
  const who = document.createElement("span");
  who.textContent = name;
  const parts: Node[] = [who, qualityIcon(quality, reason, true)];
  if (note) {
    const line = document.createElement("span");
    line.className = "note";
    line.dataset["testid"] = "video-note";
    line.textContent = note;
    parts.push(line);
  }
  tile.caption.replaceChildren(...parts);
}

/** Why a track's picture will not come, if the server said it cannot send
 * it to us (a codec this app cannot decode). */
function noteOf(track: Track | undefined): string | undefined {
  if (!track?.unsupported) return undefined;
  return track.codec ? t("video.unsupported", { codec: track.codec }) : t("video.unsupportedFormat");
}

/** One tile per remote video track, captioned with its owner's name and
 * connection quality; a muted camera shows the caption in place of the
 * picture, and whoever speaks has their camera's tile ringed. Our own
 * camera, while published, is a tile too (last), muted and ringed as
 * theirs. While the call reconnects, the last frames stay, greyed, and
 * nobody's quality is known (ours is lost). */
export function renderVideos(
  people: Participant[],
  local: Participant | undefined,
  own: OwnCamera,
  reconnecting: boolean,
  reasonOf: (identity: string) => QualityReason | undefined,
): void {
  const box = el("video-tiles");
  const wanted = new Map<string, Participant | null>();
  const screens = new Set<string>();
  for (const p of people) {
    for (const track of p.tracks) {
      if (track.kind !== "video") continue;
      wanted.set(track.sid, p);
      if (track.screen) screens.add(track.sid);
    }
  }
  if (own !== "none") wanted.set(ipc.PREVIEW, null);
  for (const [sid, tile] of tiles) {
    if (!wanted.has(sid)) {
      removeTile(tile);
      tiles.delete(sid);
    }
  }
  for (const [sid, p] of wanted) {
    let tile = tiles.get(sid);
    if (!tile) {
      tile = newTile(sid);
      tiles.set(sid, tile);
      box.append(tile.figure);
    }
    if (p === null) {
      const ours: ConnectionQuality = reconnecting ? "lost" : (local?.connectionQuality ?? "unknown");
      caption(tile, t("camera.you"), ours, reconnecting || !local ? undefined : reasonOf(local.identity));
      tile.figure.setAttribute("aria-label", t("camera.you"));
      tile.figure.classList.add("preview");
      tile.figure.classList.toggle("off", own === "off");
      tile.figure.classList.toggle("speaking", local?.speaking ?? false);
      continue;
    }
    const name = p.name || p.identity;
    const note = noteOf(p.tracks.find((x) => x.sid === sid));
    if (reconnecting) caption(tile, name, "unknown", undefined, note);
    else caption(tile, name, p.connectionQuality, reasonOf(p.identity), note);
    tile.figure.setAttribute("aria-label", `${name}'s video`);
    const off = p.tracks.some((x) => x.sid === sid && x.muted);
    tile.figure.classList.toggle("off", off);
    // A shared screen is shown large, first: its text has to be read.
    const screen = screens.has(sid);
    tile.figure.classList.toggle("screen", screen);
    // A screen shows what is said, not who says it.
    tile.figure.classList.toggle("speaking", p.speaking && !screen);
  }
  arrange();
  box.hidden = tiles.size === 0;
  box.classList.toggle("stale", reconnecting);
  box.dataset["count"] = String(tiles.size);
  if (!placing) placing = requestAnimationFrame(place);
}

/** The tile a person pinned: shown large, first, until they unpin it or
 * it goes. */
let pinned: string | null = null;

/** Where each tile goes: the pinned one first and across the row, then
 * shared screens (large too: their text has to be read), then the others
 * as they came. Moved only when that order changed. */
function arrange(): void {
  const box = el("video-tiles");
  if (pinned !== null && !tiles.has(pinned)) pinned = null;
  const rank = (x: Tile): number => (x.sid === pinned ? 0 : x.figure.classList.contains("screen") ? 1 : 2);
  const order = [...tiles.values()].sort((a, b) => rank(a) - rank(b));
  const words = t("video.pin");
  for (const tile of order) {
    const on = tile.sid === pinned;
    tile.figure.classList.toggle("pinned", on);
    tile.pin.setAttribute("aria-pressed", String(on));
    if (tile.pin.textContent !== words) tile.pin.textContent = words;
  }
  const now = [...box.children];
  if (order.some((tile, i) => now[i] !== tile.figure)) box.append(...order.map((tile) => tile.figure));
  if (!placing) placing = requestAnimationFrame(place);
}

/** The call ended: every tile goes. */
export function resetVideos(): void {
  for (const tile of tiles.values()) removeTile(tile);
  tiles.clear();
  pinned = null;
  el("video-tiles").hidden = true;
  if (!placing) placing = requestAnimationFrame(place);
}
