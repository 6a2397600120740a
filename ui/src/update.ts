import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { setText } from "./dom";

// Mirrors `UpdateStatus` in src-tauri/src/update/status.rs (to be replaced
// by generated bindings). The Rust side decides; this only shows it.
export type ProblemKind =
  | "badSignature"
  | "incomplete"
  | "wrongApp"
  | "noBuildForThisSystem"
  | "badManifest"
  | "network"
  | "installFailed"
  | "config";

export type UpdateStatus =
  | { state: "idle"; current: string }
  | { state: "unavailable"; current: string; reason: string }
  | { state: "checking"; current: string }
  | { state: "upToDate"; current: string }
  | { state: "waitingForCall"; current: string; version: string; notes: string }
  | {
      state: "downloading";
      current: string;
      version: string;
      notes: string;
      received: number;
      total: number | null;
    }
  | { state: "ready"; current: string; version: string; notes: string; action: string }
  | { state: "installing"; current: string; version: string }
  | {
      state: "failed";
      current: string;
      version: string | null;
      problem: ProblemKind;
      message: string;
    };

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
    invoke("update_apply").catch((err: unknown) => {
      p.apply.disabled = false;
      p.message.textContent = String(err);
    });
  });
  p.check.addEventListener("click", () => {
    void invoke("update_check");
  });
  // Listen first, then read: no status change falls between the two.
  await listen<UpdateStatus>("update-status", (e) => render(p, e.payload));
  try {
    render(p, await invoke<UpdateStatus>("update_status"));
  } catch (err) {
    p.message.textContent = `Updates unavailable (${String(err)})`;
  }
}
