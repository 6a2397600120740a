import { invoke } from "@tauri-apps/api/core";
import { startUpdateNotice } from "./update";

// The page asks the Rust side for the call state; it knows nothing of LiveKit.
async function showState(): Promise<void> {
  const el = document.querySelector<HTMLSpanElement>("#connection-state");
  if (!el) return;
  try {
    el.textContent = await invoke<string>("connection_state");
  } catch (err) {
    el.textContent = `unavailable (${String(err)})`;
  }
}

void showState();
void startUpdateNotice();
