import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";

// "Save call report": the Rust side writes the file and answers its path
// (or why not); the page only says so.

async function save(): Promise<void> {
  const said = el("report-saved");
  try {
    setText(said, `Saved: ${await ipc.saveCallReport()}`);
  } catch (e) {
    setText(said, String(e));
  }
}

export function startReport(): void {
  el("save-report").addEventListener("click", () => void save());
}
