import { el, setText } from "./dom";
import { sayRefusal } from "./i18n";

// A button's picker (what to share, which camera): a list of choices under
// the controls, opened by the button and closed by a pick, Cancel or
// Escape; a refusal is said beside the button. `name` prefixes the test
// ids: `${name}-picker`, `-choices`, `-choice`, `-cancel`, `-error`.

export interface Choice {
  label: string;
  pick: () => void;
}

export function said(name: string, error: unknown): void {
  const e = el(`${name}-error`);
  if (error === null) {
    e.hidden = true;
    return;
  }
  setText(e, sayRefusal(error));
  e.hidden = false;
}

export function isOpen(name: string): boolean {
  return !el(`${name}-picker`).hidden;
}

/** The button that opened each picker (one picker may have two: the
 * camera's is opened to start a camera or to switch to another). */
const openers = new Map<string, string>();

export function closePicker(name: string, refocus: boolean): void {
  el(`${name}-picker`).hidden = true;
  const button = openers.get(name);
  if (button === undefined) return;
  el(button).setAttribute("aria-expanded", "false");
  if (refocus) el(button).focus();
}

export function openPicker(name: string, button: string, choices: Choice[]): void {
  const before = openers.get(name);
  if (before !== undefined && before !== button) el(before).setAttribute("aria-expanded", "false");
  openers.set(name, button);
  const list = el(`${name}-choices`);
  list.replaceChildren(
    ...choices.map((c) => {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.dataset["testid"] = `${name}-choice`;
      pick.textContent = c.label;
      pick.addEventListener("click", () => {
        closePicker(name, true);
        c.pick();
      });
      item.append(pick);
      return item;
    }),
  );
  el(`${name}-picker`).hidden = false;
  el(button).setAttribute("aria-expanded", "true");
  (list.querySelector("button") ?? el(`${name}-cancel`)).focus();
}

/** Cancel and Escape close the picker. */
export function startPicker(name: string): void {
  el(`${name}-cancel`).addEventListener("click", () => closePicker(name, true));
  el(`${name}-picker`).addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closePicker(name, true);
    }
  });
}
