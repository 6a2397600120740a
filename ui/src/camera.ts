import type { CallView } from "./generated/CallView";
import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { t } from "./i18n";
import { closePicker, isOpen, openPicker, said, startPicker } from "./picker";
import type { OwnCamera } from "./video";

// The camera: the button opens a picker of the cameras there are (by their
// own names); a pick shows that camera to the call, and the button then
// stops it (muted: everyone sees it off, and the camera is let go), while
// Switch camera opens the same picker to show another instead. Our own
// picture is shown among the tiles (video.ts).

const BUTTON = "camera";
const SWITCH = "camera-switch";
let on = false;
let inCall = false;

async function show(id: string | null): Promise<void> {
  const button = el<HTMLButtonElement>(BUTTON);
  button.disabled = true;
  try {
    await ipc.showCamera(id);
    said("camera", null);
  } catch (e) {
    said("camera", e);
  } finally {
    button.disabled = false;
  }
}

/** Opens the picker from `opener` (the camera button, or Switch camera). */
async function pick(opener: string): Promise<void> {
  let cameras;
  try {
    cameras = await ipc.cameras();
  } catch (e) {
    said("camera", e);
    return;
  }
  said("camera", null);
  setText(el("camera-choose"), cameras.length ? t("camera.choose") : t("camera.noCameras"));
  openPicker(
    "camera",
    opener,
    cameras.map((c) => ({ label: c.name, pick: () => void show(c.id) })),
  );
}

/** Our own camera's tile: none, our picture, or muted (our name only). */
export function ownCamera(v: CallView): OwnCamera {
  if (v.camera === null) return "none";
  return v.cameraMuted ? "off" : "on";
}

/** The button's words for the view; out of a call, no picker or error. */
export function renderCamera(v: CallView, inCallNow: boolean): void {
  on = v.camera !== null && !v.cameraMuted;
  inCall = inCallNow;
  const button = el<HTMLButtonElement>(BUTTON);
  setText(button, on ? t("call.stopCamera") : t("call.camera"));
  button.setAttribute("aria-pressed", String(on));
  const other = el<HTMLButtonElement>(SWITCH);
  setText(other, t("call.switchCamera"));
  other.hidden = !(inCall && on);
  if (!inCall) {
    said("camera", null);
    closePicker("camera", false);
  }
}

export function startCamera(): void {
  el(BUTTON).addEventListener("click", () => {
    if (!inCall) return;
    if (on) {
      closePicker("camera", false);
      void show(null);
    } else if (!isOpen("camera")) void pick(BUTTON);
    else closePicker("camera", true);
  });
  el(SWITCH).addEventListener("click", () => {
    if (!inCall || !on) return;
    if (!isOpen("camera")) void pick(SWITCH);
    else closePicker("camera", true);
  });
  startPicker("camera");
}
