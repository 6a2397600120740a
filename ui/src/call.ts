import type { AttemptKind } from "./generated/AttemptKind";
import type { CallView } from "./generated/CallView";
import type { JoinRequest } from "./generated/JoinRequest";
import * as ipc from "./generated/ipc";
import type { QualityReason } from "./generated/QualityReason";
import { chosenProfile, startProfiles } from "./profiles";
import { renderPeople, resetPeople, startPeople } from "./people";
import { renderVideos, resetVideos } from "./video";
import { renderShare, startShare } from "./share";
import { ownCamera, renderCamera, startCamera } from "./camera";
import { renderMini, startMini } from "./mini";
import { qualityIcon } from "./quality";
import { announce, el, rendered, setText } from "./dom";
import { language, onLanguage, say, t } from "./i18n";

// The page renders the CallView the Rust side sends; it keeps no call state
// of its own and knows nothing of LiveKit.

let view: CallView | null = null;
let lastJoin: JoinRequest | null = null;
/** The last join was refused: the form says why, not the failure panel. */
let joinRefused = false;

/** When each view reached the screen, for the UI benchmark; and what the
 * page then showed (state, the banner's words if it was rendered, the
 * token's expiry, how the call last came back), for tests that must see a
 * state even if it lasted only a moment. */
interface Shown {
  seq: number;
  sentAtMs: number;
  shownAtMs: number;
  state: string;
  banner: string | null;
  tokenExpiresAtMs: number | null;
  lastReconnect: AttemptKind | null;
}
const shown: Shown[] = [];
(window as unknown as { __rtcstackShown: Shown[] }).__rtcstackShown = shown;

/** Why `identity`'s quality is what it is, as last measured. */
function reasonOf(identity: string): QualityReason | undefined {
  return view?.reasons.find((r) => r.identity === identity);
}

/** While reconnecting, the banner says what happens next: the wait to the
 * next attempt, or that one is under way (an attempt in a cut can take
 * seconds, and the line stayed empty meanwhile). */
function countdown(): void {
  const c = el("banner-countdown");
  if (view?.state !== "reconnecting") {
    setText(c, "");
    return;
  }
  const at = view.nextAttemptAtMs;
  const s = at == null ? 0 : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  setText(c, s > 0 ? t("banner.nextTry", { n: s }) : t("banner.tryingNow"));
}

function render(v: CallView): void {
  // A reply or event can arrive after a newer view: keep the newest.
  if (view && v.seq < view.seq) return;
  view = v;
  setText(el("connection-state"), t(`state.${v.state}`));
  const inCall = v.state === "connecting" || v.state === "connected" || v.state === "reconnecting";
  const failed =
    !joinRefused &&
    v.state === "disconnected" &&
    v.disconnectReason !== null &&
    v.disconnectReason !== "clientInitiated";
  el("call-screen").hidden = !inCall;
  el("join-screen").hidden = inCall || failed;
  setText(el("room-name"), v.room ?? "");

  const banner = el("reconnect-banner");
  banner.hidden = v.state !== "reconnecting";
  announce(el("banner-text"), t("banner.lost", { n: Math.max(v.attempt, 1) }));
  countdown();

  el("failure").hidden = !failed;
  setText(el("failure-text"), v.endMessage ? say(v.endMessage) : "");

  const expires = v.tokenExpiresAtMs;
  setText(
    el("token-status"),
    inCall && expires != null ? t("call.accessUntil", { time: new Date(expires).toLocaleTimeString(language()) }) : "",
  );
  const tw = el("token-warning");
  tw.hidden = !(inCall && v.tokenWarning);
  setText(tw, t("call.tokenWarning"));
  const notice = el("notice");
  notice.hidden = !(inCall && v.notices.length > 0);
  setText(notice, v.notices.map(say).join(" "));
  // Not while reconnecting: the banner says what is going on then.
  const pathNotice = el("path-notice");
  pathNotice.hidden = !(v.state === "connected" && v.pathNotice);
  setText(pathNotice, v.pathNotice ? say(v.pathNotice) : "");

  const local = el("local-quality");
  const reconnecting = v.state === "reconnecting";
  // While reconnecting our link is lost, whatever the server last scored
  // it (and nobody else's is known: see renderPeople).
  local.replaceChildren(
    reconnecting
      ? qualityIcon("lost")
      : qualityIcon(v.local?.connectionQuality ?? "unknown", v.local ? reasonOf(v.local.identity) : undefined),
  );
  const poor = v.local?.connectionQuality === "poor" || v.local?.connectionQuality === "lost";
  // While reconnecting the banner says the link is lost: a "poor" beside
  // it would say less, twice.
  el("local-warning").hidden = !(v.state === "connected" && poor);

  renderPeople(v.participants, reasonOf, v.state === "connected" || reconnecting, reconnecting);
  if (inCall) {
    renderVideos(v.participants, v.local ?? undefined, ownCamera(v), reconnecting, reasonOf);
  } else resetVideos();
  el("talking").hidden = !(inCall && v.talking);
  const mute = el<HTMLButtonElement>("mute");
  setText(mute, v.muted ? t("call.unmute") : t("call.mute"));
  mute.setAttribute("aria-pressed", String(v.muted));
  renderShare(v, inCall);
  renderCamera(v, inCall);
  renderMini(inCall);

  shown.push({
    seq: v.seq,
    sentAtMs: v.sentAtMs,
    shownAtMs: performance.timeOrigin + performance.now(),
    state: v.state,
    // Rendered, not merely unhidden: a stylesheet can show what the page hid.
    banner: rendered(banner) ? el("banner-text").textContent : null,
    tokenExpiresAtMs: v.tokenExpiresAtMs,
    lastReconnect: v.lastReconnect,
  });
  if (shown.length > 500) shown.shift();
}

export async function join(request: JoinRequest): Promise<void> {
  const error = el("join-error");
  error.hidden = true;
  lastJoin = request;
  joinRefused = false;
  resetPeople();
  try {
    // The call's views come as events; the answer only says if the join
    // was refused.
    await ipc.join(request);
  } catch (e) {
    joinRefused = true;
    const err = e as ipc.Refusals["join"];
    error.textContent = err.message ? say(err.message) : String(e);
    error.dataset["kind"] = err.kind ?? "failed";
    error.hidden = false;
    // No call: the form again, whatever the last view said (the refusal
    // can come before the view that says the join failed).
    el("call-screen").hidden = true;
    el("join-screen").hidden = false;
    el("failure").hidden = true;
  }
}

/** What the join form holds, as a join (or a check) asks for it. */
export function formRequest(): JoinRequest {
  const data = new FormData(el<HTMLFormElement>("join-form"));
  return {
    profile: chosenProfile()?.id ?? null,
    url: String(data.get("url") ?? ""),
    room: String(data.get("room") ?? ""),
    name: String(data.get("name") ?? ""),
  };
}

async function toggleMute(): Promise<void> {
  if (!view || view.state === "disconnected" || view.state === "idle") return;
  await ipc.setMuted(!view.muted);
}

export async function startCall(): Promise<void> {
  const form = el<HTMLFormElement>("join-form");
  await startProfiles((p) => {
    // The chosen profile fills the server and room; both can be changed.
    el<HTMLInputElement>("join-url").value = p?.url ?? "";
    el<HTMLInputElement>("join-room").value = p?.room ?? "";
    el<HTMLButtonElement>("join-button").disabled = p == null;
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void join(formRequest());
  });
  startPeople();
  el("retry-now").addEventListener("click", () => void ipc.retryNow());
  el("rejoin").addEventListener("click", () => {
    if (lastJoin) void join(lastJoin);
  });
  el("leave").addEventListener("click", () => void ipc.leave());
  el("mute").addEventListener("click", () => void toggleMute());
  startShare();
  startCamera();
  startMini();
  // M mutes and unmutes, unless the user is typing.
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing =
      t instanceof HTMLInputElement ||
      t instanceof HTMLSelectElement ||
      t instanceof HTMLTextAreaElement ||
      (t instanceof HTMLElement && t.isContentEditable);
    if (!typing && !ev.repeat && !ev.ctrlKey && !ev.metaKey && !ev.altKey && ev.key.toLowerCase() === "m") {
      ev.preventDefault();
      void toggleMute();
    }
  });
  await ipc.onCallView(render);
  // A new language redraws the view as it stands.
  onLanguage(() => {
    if (view) render({ ...view });
  });
  render(await ipc.callView());
  setInterval(countdown, 250);
  // Ready for input (the end-to-end tests wait for this).
  document.body.dataset["ready"] = "1";
}
