import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { onLanguage, sayRefusal, t } from "./i18n";

// The mini view: during a call, a small window above the others with the
// room, who is there, mute and leave. The shell sizes the window and keeps
// it on top; the page shows only the strip (`body.mini`). When the call
// ends the full view comes back.

let mini = false;

function draw(): void {
  document.body.classList.toggle("mini", mini);
  const button = el<HTMLButtonElement>("mini-view");
  setText(button, mini ? t("mini.full") : t("mini.show"));
  button.setAttribute("aria-pressed", String(mini));
}

async function show(on: boolean): Promise<void> {
  const error = el("mini-error");
  try {
    await ipc.setMiniView(on);
  } catch (e) {
    setText(error, sayRefusal(e));
    error.hidden = false;
    return;
  }
  error.hidden = true;
  mini = on;
  draw();
}

/** The button only in a call; out of one, the full view. */
export function renderMini(inCall: boolean): void {
  el("mini-view").hidden = !inCall;
  if (!inCall && mini) void show(false);
}

export function startMini(): void {
  el("mini-view").addEventListener("click", () => void show(!mini));
  onLanguage(draw);
  draw();
}
