import type { CallView } from "./generated/CallView";
import type { ShareTarget } from "./generated/ShareTarget";
import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { sayRefusal, t } from "./i18n";

// Sharing: the button opens a picker of what can be shared (the whole
// screen, each monitor, then other applications' windows, as Rust lists
// them); a pick
// shares it, and the button then stops the share. A refusal is said beside
// the button.

let sharing = false;
let inCall = false;

function said(error: unknown): void {
  const e = el("share-error");
  if (error === null) {
    e.hidden = true;
    return;
  }
  setText(e, sayRefusal(error));
  e.hidden = false;
}

async function share(target: ShareTarget | null): Promise<void> {
  const button = el<HTMLButtonElement>("share-screen");
  button.disabled = true;
  try {
    await ipc.shareScreen(target);
    said(null);
  } catch (e) {
    said(e);
  } finally {
    button.disabled = false;
  }
}

function closePicker(refocus: boolean): void {
  el("share-picker").hidden = true;
  el("share-screen").setAttribute("aria-expanded", "false");
  if (refocus) el("share-screen").focus();
}

async function openPicker(): Promise<void> {
  let choices;
  try {
    choices = await ipc.shareables();
  } catch (e) {
    said(e);
    return;
  }
  said(null);
  const list = el("share-choices");
  list.replaceChildren(
    ...choices.map((c) => {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.dataset["testid"] = "share-choice";
      pick.textContent =
        c.target.kind === "screen"
          ? t("share.screen")
          : c.target.kind === "monitor"
            ? t("share.monitor", { name: c.title })
            : c.title;
      pick.addEventListener("click", () => {
        closePicker(true);
        void share(c.target);
      });
      item.append(pick);
      return item;
    }),
  );
  el("share-picker").hidden = false;
  el("share-screen").setAttribute("aria-expanded", "true");
  list.querySelector("button")?.focus();
}

/** The button's words for the view; out of a call, no picker or error. */
export function renderShare(v: CallView, inCallNow: boolean): void {
  sharing = v.sharing;
  inCall = inCallNow;
  const button = el<HTMLButtonElement>("share-screen");
  setText(button, v.sharing ? t("call.stopSharing") : t("call.shareScreen"));
  button.setAttribute("aria-pressed", String(v.sharing));
  if (!inCall) {
    said(null);
    closePicker(false);
  }
}

export function startShare(): void {
  el("share-screen").addEventListener("click", () => {
    if (!inCall) return;
    if (sharing) void share(null);
    else if (el("share-picker").hidden) void openPicker();
    else closePicker(true);
  });
  el("share-cancel").addEventListener("click", () => closePicker(true));
  el("share-picker").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closePicker(true);
    }
  });
}
