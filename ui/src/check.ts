import type { CheckView } from "./generated/CheckView";
import type { CheckLine } from "./generated/CheckLine";
import * as ipc from "./generated/ipc";
import { formRequest } from "./call";
import { el, setText } from "./dom";

// The pre-call check: the Rust side checks and words each line; the page
// lays the lines out as they come.

const labels: Record<CheckLine["item"], string> = {
  server: "Server",
  token: "Access",
  transport: "Connection",
  microphone: "Microphone",
  speaker: "Speaker",
};

const marks: Record<CheckLine["verdict"], string> = {
  checking: "…",
  good: "✓",
  warning: "!",
  failed: "✗",
  skipped: "–",
};

function summary(v: CheckView): string {
  if (v.running) return v.automatic ? "The join failed: checking why…" : "Checking…";
  if (v.passed === false) return "Calls will not work until the lines marked ✗ are fixed.";
  if (v.lines.some((l) => l.verdict === "warning")) return "Calls will work, with the warnings below.";
  return "All good: you are ready to join.";
}

/** When each line last changed on the page (wall clock, ms): for the
 * tests, which time what a person saw. */
const changedAt = new Map<string, { said: string; at: number }>();

function lineItem(l: CheckLine): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset["testid"] = "check-line";
  li.dataset["item"] = l.item;
  li.dataset["verdict"] = l.verdict;
  const said = `${l.verdict} ${l.text}`;
  const last = changedAt.get(l.item);
  const at = last && last.said === said ? last.at : Date.now();
  changedAt.set(l.item, { said, at });
  li.dataset["shownAtMs"] = String(at);
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.textContent = marks[l.verdict];
  mark.setAttribute("aria-hidden", "true");
  const label = document.createElement("strong");
  label.textContent = `${labels[l.item]}: `;
  const text = document.createElement("span");
  text.dataset["testid"] = "check-text";
  text.textContent = l.text;
  li.append(mark, label, text);
  if (l.advice) {
    const advice = document.createElement("span");
    advice.className = "advice";
    advice.dataset["testid"] = "check-advice";
    advice.textContent = l.advice;
    li.append(advice);
  }
  // Read as one sentence by a screen reader, verdict first.
  li.setAttribute("aria-label", `${labels[l.item]}, ${l.verdict}: ${l.text}${l.advice ? ` ${l.advice}` : ""}`);
  return li;
}

function render(v: CheckView): void {
  const panel = el("check-panel");
  panel.hidden = v.lines.length === 0;
  panel.dataset["running"] = v.running ? "1" : "";
  setText(el("check-summary"), summary(v));
  el("check-lines").replaceChildren(...v.lines.map(lineItem));
  el<HTMLButtonElement>("check-button").disabled = v.running;
}

export async function startCheck(): Promise<void> {
  el("check-button").addEventListener("click", () => void ipc.runCheck(formRequest()));
  await ipc.onCheckView(render);
  render(await ipc.checkView());
}
