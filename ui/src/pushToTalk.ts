import type { PushToTalkView } from "./generated/PushToTalkView";
import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { onLanguage, say, sayRefusal, t } from "./i18n";

// The push-to-talk key as the Rust side keeps it: the page shows it and
// asks for a new one; the key itself is caught system-wide in Rust. Where
// the desktop binds it (Wayland), the desktop's name for it is shown: the
// person may have picked another key in the desktop's dialog.

function render(v: PushToTalkView): void {
  const status = el("ptt-status");
  const input = el<HTMLInputElement>("ptt-key");
  if (document.activeElement !== input) input.value = v.key ?? "";
  status.classList.toggle("error", v.problem != null);
  setText(
    status,
    v.problem
      ? say(v.problem)
      : v.trigger
        ? t("ptt.bound", { key: v.trigger })
        : v.key
          ? t("ptt.on", { key: v.key })
          : t("ptt.off"),
  );
}

async function setKey(): Promise<void> {
  const key = el<HTMLInputElement>("ptt-key").value.trim();
  try {
    render(await ipc.setPushToTalkKey(key === "" ? null : key));
  } catch (e) {
    const status = el("ptt-status");
    status.classList.add("error");
    setText(status, sayRefusal(e));
  }
}

export async function startPushToTalk(): Promise<void> {
  el("ptt-save").addEventListener("click", () => void setKey());
  el("ptt-key").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      void setKey();
    }
  });
  void ipc.onPushToTalkView(render);
  render(await ipc.pushToTalkView());
  onLanguage(() => void ipc.pushToTalkView().then(render));
}
