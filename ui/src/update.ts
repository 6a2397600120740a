import type { UpdateStatus } from "./generated/UpdateStatus";
import * as ipc from "./generated/ipc";
import { setText } from "./dom";

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
      return "Checking for updates…";
    case "unavailable":
      return `Automatic updates are off: ${s.reason}.`;
    case "upToDate":
      return `RTCstack ${s.current} is up to date.`;
    case "waitingForCall":
      return `Update ${s.version} is available. It will download when your call ends.`;
    case "downloading":
      return s.total === null
        ? `Downloading update ${s.version}… ${mib(s.received)}`
        : `Downloading update ${s.version}… ${mib(s.received)} of ${mib(s.total)}`;
    case "ready":
      return `Update ${s.version} is ready. It is installed when you restart.`;
    case "installing":
      return `Installing update ${s.version}…`;
    case "failed":
      return s.message;
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
  if (s.state === "ready") setText(p.apply, s.action);
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
      p.message.textContent = String(err);
    });
  });
  p.check.addEventListener("click", () => {
    void ipc.updateCheck();
  });
  // Listen first, then read: no status change falls between the two.
  await ipc.onUpdateStatus((s) => render(p, s));
  try {
    render(p, await ipc.updateStatus());
  } catch (err) {
    p.message.textContent = `Updates unavailable (${String(err)})`;
  }
}
