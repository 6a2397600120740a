import type { CheckView } from "./generated/CheckView";
import type { CheckLine } from "./generated/CheckLine";
import * as ipc from "./generated/ipc";
import { formRequest } from "./call";
import { el, setText } from "./dom";
import { onLanguage, say, t } from "./i18n";

// The pre-call check: the Rust side checks and words each line; the page
// says them in its language and lays the lines out as they come.

const labels: Record<CheckLine["item"], () => string> = {
  server: () => t("check.item.server"),
  token: () => t("check.item.token"),
  transport: () => t("check.item.transport"),
  microphone: () => t("check.item.microphone"),
  speaker: () => t("check.item.speaker"),
};

const verdicts: Record<CheckLine["verdict"], () => string> = {
  checking: () => t("check.verdict.checking"),
  good: () => t("check.verdict.good"),
  warning: () => t("check.verdict.warning"),
  failed: () => t("check.verdict.failed"),
  skipped: () => t("check.verdict.skipped"),
};

const marks: Record<CheckLine["verdict"], string> = {
  checking: "…",
  good: "✓",
  warning: "!",
  failed: "✗",
  skipped: "–",
};

function summary(v: CheckView): string {
  if (v.running) return t(v.automatic ? "check.summaryAutomatic" : "check.checking");
  if (v.passed === false) return t("check.summaryFailed");
  if (v.lines.some((l) => l.verdict === "warning")) return t("check.summaryWarnings");
  return t("check.summaryGood");
}

/** When each line last changed on the page (wall clock, ms): for the
 * tests, which time what a person saw. */
const changedAt = new Map<string, { said: string; at: number }>();

function lineItem(l: CheckLine): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset["testid"] = "check-line";
  li.dataset["item"] = l.item;
  li.dataset["verdict"] = l.verdict;
  const words = say(l.text);
  const advice = l.advice ? say(l.advice) : null;
  const said = `${l.verdict} ${words}`;
  const last = changedAt.get(l.item);
  const at = last && last.said === said ? last.at : Date.now();
  changedAt.set(l.item, { said, at });
  li.dataset["shownAtMs"] = String(at);
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.textContent = marks[l.verdict];
  mark.setAttribute("aria-hidden", "true");
  const label = document.createElement("strong");
  label.textContent = `${labels[l.item]()}: `;
  const text = document.createElement("span");
  text.dataset["testid"] = "check-text";
  text.textContent = words;
  li.append(mark, label, text);
  if (advice) {
    const span = document.createElement("span");
    span.className = "advice";
    span.dataset["testid"] = "check-advice";
    span.textContent = advice;
    li.append(span);
  }
  // Read as one sentence by a screen reader, verdict first.
  li.setAttribute("aria-label", `${labels[l.item]()}, ${verdicts[l.verdict]()}: ${words}${advice ? ` ${advice}` : ""}`);
  return li;
}

/** The last view, to say again in a new language. */
let last: CheckView | null = null;

function render(v: CheckView): void {
  last = v;
  const panel = el("check-panel");
  panel.hidden = v.lines.length === 0;
  panel.dataset["running"] = v.running ? "1" : "";
  setText(el("check-summary"), summary(v));
  el("check-lines").replaceChildren(...v.lines.map(lineItem));
  el<HTMLButtonElement>("check-button").disabled = v.running;
}

export async function startCheck(): Promise<void> {
  el("check-button").addEventListener("click", () => void ipc.runCheck(formRequest()));
  onLanguage(() => {
    if (last) render(last);
  });
  await ipc.onCheckView(render);
  render(await ipc.checkView());
}
