import type { Participant } from "./generated/Participant";
import type { QualityReason } from "./generated/QualityReason";
import { qualityIcon } from "./quality";
import { announce, el, setText } from "./dom";
import { language, t } from "./i18n";

// The participant list. A room of fifty is drawn as the people talking
// (or just paused) first, then by name, at most SHOWN rows until "Show all"; each row is
// rebuilt only when what it shows changed, so a speaking or quality update
// redraws one row, not fifty.

const SHOWN = 12;
/** A talker keeps their place at the top this long after they stop: speech
 * pauses every few seconds, and a list that reorders at each breath cannot
 * be read or clicked. */
const HOLD_MS = 5000;

interface Row {
  li: HTMLLIElement;
  /** What the row shows; the row is rebuilt when it differs. */
  drawn: string;
}

const rows = new Map<string, Row>();
/** Rows built so far, for the big-room test: updates must not rebuild the
 * whole list. */
const built = { rows: 0 };
(window as unknown as { __rtcstackRowsBuilt: typeof built }).__rtcstackRowsBuilt = built;
let showAll = false;
/** When each person last spoke (performance.now()). */
const lastSpoke = new Map<string, number>();
/** Redraws the list when the next hold ends. */
let holdTimer: ReturnType<typeof setTimeout> | null = null;
let last: {
  people: Participant[];
  reasonOf: (identity: string) => QualityReason | undefined;
  live: boolean;
  reconnecting: boolean;
} | null = null;

function isMuted(p: Participant): boolean {
  return p.tracks.some((t) => t.kind === "audio" && t.muted);
}

function nameOf(p: Participant): string {
  return p.name || p.identity;
}

/** Who was in the call at the last render (by identity, with the name),
 * for a screen reader's "joined" and "left"; null before the first. */
let present: Map<string, string> | null = null;

/** Tells a screen reader who came and went (a polite live region) while
 * the call is `live`; the people there when we join are not news, and a
 * crowd is counted. */
function announcePeople(people: Participant[], live: boolean): void {
  if (!live) {
    present = null;
    return;
  }
  const now = new Map(people.map((p) => [p.identity, nameOf(p)]));
  const before = present;
  present = now;
  if (before === null) return;
  const came = [...now].filter(([id]) => !before.has(id)).map(([, n]) => n);
  const went = [...before].filter(([id]) => !now.has(id)).map(([, n]) => n);
  const say = (names: string[], few: "people.joined" | "people.left", many: "people.crowdJoined" | "people.crowdLeft"): string | null =>
    names.length === 0 ? null : names.length <= 3 ? t(few, { names: names.join(", ") }) : t(many, { n: names.length });
  const words = [say(came, "people.joined", "people.crowdJoined"), say(went, "people.left", "people.crowdLeft")].filter(
    (w) => w !== null,
  );
  if (words.length > 0) announce(el("announcer"), words.join(". "));
}

function person(p: Participant, reason: QualityReason | undefined): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset["identity"] = p.identity;
  li.className = p.speaking ? "person speaking" : "person";
  const speaking = document.createElement("span");
  speaking.className = "speaking-dot";
  speaking.dataset["testid"] = "speaking";
  speaking.setAttribute("aria-label", p.speaking ? "speaking" : "not speaking");
  speaking.textContent = p.speaking ? "●" : "○";
  const name = document.createElement("span");
  name.className = "name";
  name.dataset["testid"] = "participant-name";
  name.textContent = nameOf(p);
  li.append(speaking, name);
  if (isMuted(p)) {
    const m = document.createElement("span");
    m.className = "muted";
    m.dataset["testid"] = "participant-muted";
    m.textContent = t("people.muted");
    li.appendChild(m);
  }
  li.appendChild(qualityIcon(p.connectionQuality, reason));
  return li;
}

function row(p: Participant, reason: QualityReason | undefined): HTMLLIElement {
  const drawn = JSON.stringify([nameOf(p), p.speaking, isMuted(p), p.connectionQuality, reason ?? null, language()]);
  const known = rows.get(p.identity);
  if (known && known.drawn === drawn) return known.li;
  const li = person(p, reason);
  built.rows += 1;
  rows.set(p.identity, { li, drawn });
  return li;
}

/** Draws everyone else in the call; the count includes us. */
export function renderPeople(
  people: Participant[],
  reasonOf: (identity: string) => QualityReason | undefined,
  live = true,
  reconnecting = false,
): void {
  last = { people, reasonOf, live, reconnecting };
  announcePeople(people, live);
  const now = performance.now();
  for (const p of people) if (p.speaking) lastSpoke.set(p.identity, now);
  const held = (p: Participant): boolean =>
    p.speaking || now - (lastSpoke.get(p.identity) ?? -Infinity) < HOLD_MS;
  const ordered = [...people].sort(
    (a, b) =>
      Number(held(b)) - Number(held(a)) ||
      nameOf(a).localeCompare(nameOf(b)) ||
      a.identity.localeCompare(b.identity),
  );
  scheduleHoldEnd(people, now);
  const visible = showAll ? ordered : ordered.slice(0, SHOWN);
  // While we reconnect nobody's quality is known to us: the last one
  // ("Excellent" beside "Connection lost") would be stale.
  const wanted = visible.map((p) =>
    reconnecting ? row({ ...p, connectionQuality: "unknown" }, undefined) : row(p, reasonOf(p.identity)),
  );
  const list = el("participants");
  const same = list.children.length === wanted.length && wanted.every((li, i) => list.children[i] === li);
  if (!same) list.replaceChildren(...wanted);
  const present = new Set(people.map((p) => p.identity));
  for (const identity of [...rows.keys()]) if (!present.has(identity)) rows.delete(identity);
  for (const identity of [...lastSpoke.keys()]) if (!present.has(identity)) lastSpoke.delete(identity);

  const n = people.length + 1;
  // Before the join answer nobody is known: not "only you" yet.
  const count = !live && n === 1 ? t("people.joining") : n === 1 ? t("people.onlyYou") : t("people.count", { n });
  setText(el("people-count"), count);
  const hidden = ordered.length - visible.length;
  const more = el<HTMLButtonElement>("people-more");
  more.hidden = ordered.length <= SHOWN;
  setText(more, showAll ? t("people.showFewer") : t("people.more", { n: hidden }));
  more.setAttribute("aria-expanded", String(showAll));
}

/** Redraws when the soonest hold of someone not speaking ends. */
function scheduleHoldEnd(people: Participant[], now: number): void {
  if (holdTimer !== null) clearTimeout(holdTimer);
  holdTimer = null;
  const ends = people
    .filter((p) => !p.speaking)
    .map((p) => (lastSpoke.get(p.identity) ?? -Infinity) + HOLD_MS)
    .filter((t) => t > now);
  if (ends.length === 0) return;
  holdTimer = setTimeout(
    () => {
      holdTimer = null;
      if (last) renderPeople(last.people, last.reasonOf, last.live, last.reconnecting);
    },
    Math.min(...ends) - now,
  );
}

export function startPeople(): void {
  el("people-more").addEventListener("click", () => {
    showAll = !showAll;
    if (last) renderPeople(last.people, last.reasonOf, last.live, last.reconnecting);
  });
}

/** A new call starts with the short list. */
export function resetPeople(): void {
  showAll = false;
  rows.clear();
  lastSpoke.clear();
  if (holdTimer !== null) clearTimeout(holdTimer);
  holdTimer = null;
  last = null;
  present = null;
  announce(el("announcer"), "");
  const more = el("people-more");
  more.hidden = true;
  more.setAttribute("aria-expanded", "false");
}
