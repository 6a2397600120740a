import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { sayRefusal, t } from "./i18n";

// "Save call report": the Rust side writes the file and answers its path
// (or why not); the page only says so.

async function save(): Promise<void> {
  const said = el("report-saved");
  try {
    setText(said, t("report.saved", { path: await ipc.saveCallReport() }));
  } catch (e) {
    setText(said, sayRefusal(e));
  }
}

export function startReport(): void {
  el("save-report").addEventListener("click", () => void save());
}
