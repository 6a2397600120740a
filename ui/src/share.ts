import type { CallView } from "./generated/CallView";
import type { ShareTarget } from "./generated/ShareTarget";
import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { t } from "./i18n";
import { closePicker, isOpen, openPicker, said, startPicker } from "./picker";

// Sharing: the button opens a picker of what can be shared (the whole
// screen, each monitor, then other applications' windows, as Rust lists
// them; in a Wayland session the desktop's own dialog instead); a pick
// shares it, and the button then stops the share.

const BUTTON = "share-screen";
let sharing = false;
let inCall = false;

async function share(target: ShareTarget | null): Promise<void> {
  const button = el<HTMLButtonElement>(BUTTON);
  button.disabled = true;
  try {
    await ipc.shareScreen(target);
    said("share", null);
  } catch (e) {
    said("share", e);
  } finally {
    button.disabled = false;
  }
}

async function pick(): Promise<void> {
  let choices;
  try {
    choices = await ipc.shareables();
  } catch (e) {
    said("share", e);
    return;
  }
  said("share", null);
  // In a Wayland session the desktop's own dialog is the picker.
  const only = choices.length === 1 ? choices[0] : undefined;
  if (only?.target.kind === "desktop") {
    void share(only.target);
    return;
  }
  openPicker(
    "share",
    BUTTON,
    choices.map((c) => ({
      label:
        c.target.kind === "screen"
          ? t("share.screen")
          : c.target.kind === "monitor"
            ? t("share.monitor", { name: c.title })
            : c.target.kind === "desktop"
              ? t("share.desktop")
              : c.title,
      pick: () => void share(c.target),
    })),
  );
}

/** The button's words for the view; out of a call, no picker or error. */
export function renderShare(v: CallView, inCallNow: boolean): void {
  sharing = v.sharing;
  inCall = inCallNow;
  const button = el<HTMLButtonElement>(BUTTON);
  setText(button, v.sharing ? t("call.stopSharing") : t("call.shareScreen"));
  button.setAttribute("aria-pressed", String(v.sharing));
  if (!inCall) {
    said("share", null);
    closePicker("share", false);
  }
}

export function startShare(): void {
  el(BUTTON).addEventListener("click", () => {
    if (!inCall) return;
    if (sharing) void share(null);
    else if (!isOpen("share")) void pick();
    else closePicker("share", true);
  });
  startPicker("share");
}
