import type { UpdateStatus } from "./generated/UpdateStatus";
import type { UpdateView } from "./generated/UpdateView";
import * as ipc from "./generated/ipc";
import { setText } from "./dom";
import { onLanguage, say, sayRefusal, t } from "./i18n";

// The updater's status as Rust sends it (generated from its type). The Rust
// side decides; this only shows it.

interface Parts {
  notice: HTMLElement;
  message: HTMLElement;
  notes: HTMLElement;
  progress: HTMLProgressElement;
  apply: HTMLButtonElement;
  check: HTMLButtonElement;
  version: HTMLElement;
}

function parts(): Parts | null {
  const q = <T extends HTMLElement>(id: string): T | null =>
    document.querySelector<T>(`#update-notice [data-testid=${id}]`);
  const notice = document.querySelector<HTMLElement>("#update-notice");
  const message = q<HTMLElement>("update-message");
  const notes = q<HTMLElement>("update-notes");
  const progress = q<HTMLProgressElement>("update-progress");
  const apply = q<HTMLButtonElement>("update-apply");
  const check = q<HTMLButtonElement>("update-check");
  const version = document.querySelector<HTMLElement>("[data-testid=app-version]");
  if (!notice || !message || !notes || !progress || !apply || !check || !version) return null;
  return { notice, message, notes, progress, apply, check, version };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

// What a person reads for each state.
function describe(s: UpdateStatus): string {
  switch (s.state) {
    case "idle":
    case "checking":
      return t("update.checking");
    case "unavailable":
      return t("update.off", { reason: s.reason });
    case "upToDate":
      return t("update.upToDate", { current: s.current });
    case "waitingForCall":
      return t("update.waitingForCall", { version: s.version });
    case "downloading":
      return s.total === null
        ? t("update.downloading", { version: s.version, received: mib(s.received) })
        : t("update.downloadingOf", { version: s.version, received: mib(s.received), total: mib(s.total) });
    case "ready":
      return t("update.ready", { version: s.version });
    case "installing":
      return t("update.installing", { version: s.version });
    case "failed":
      return say(s.message);
  }
}

function render(p: Parts, s: UpdateStatus): void {
  p.notice.dataset["state"] = s.state;
  p.notice.dataset["problem"] = s.state === "failed" ? s.problem : "";
  p.version.textContent = s.current;
  p.message.textContent = describe(s);
  const notes = "notes" in s ? s.notes : "";
  p.notes.textContent = notes;
  p.notes.hidden = notes === "";
  p.progress.hidden = s.state !== "downloading";
  if (s.state === "downloading" && s.total !== null && s.total > 0) {
    p.progress.max = s.total;
    p.progress.value = s.received;
  } else if (s.state === "downloading") {
    p.progress.removeAttribute("value"); // indeterminate
  }
  p.apply.hidden = s.state !== "ready";
  if (s.state === "ready") setText(p.apply, say(s.action));
  p.apply.disabled = false;
  p.check.hidden = !(s.state === "upToDate" || s.state === "failed");
}

export async function startUpdateNotice(): Promise<void> {
  const p = parts();
  if (!p) return;
  p.apply.addEventListener("click", () => {
    p.apply.disabled = true;
    ipc.updateApply().catch((err: unknown) => {
      p.apply.disabled = false;
      p.message.textContent = sayRefusal(err);
    });
  });
  p.check.addEventListener("click", () => {
    void ipc.updateCheck();
  });
  // The newest status, to say again in a new language. An event and the
  // reply below come by different ways: an older one arriving later is
  // dropped.
  let last: UpdateView | null = null;
  const show = (v: UpdateView): void => {
    if (last && v.seq < last.seq) return;
    last = v;
    render(p, v.status);
  };
  onLanguage(() => {
    if (last) render(p, last.status);
  });
  // Listen first, then read: no status change falls between the two.
  await ipc.onUpdateStatus(show);
  try {
    show(await ipc.updateStatus());
  } catch (err) {
    p.message.textContent = t("update.unavailable", { why: String(err) });
  }
}
