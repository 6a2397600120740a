import type { AudioView } from "./generated/AudioView";
import type { DeviceInfo } from "./generated/DeviceInfo";
import * as ipc from "./generated/ipc";
import type { MicActivity } from "./generated/MicActivity";
import { el, setText } from "./dom";
import { language, onLanguage, say, sayRefusal, t } from "./i18n";

// Devices, the microphone's level and the voice-processing switches, as the
// Rust side reports them; the page keeps no audio state of its own.

/** The meter's range: -60 dBFS (empty) to 0 dBFS (full). */
const FLOOR_DB = -60;

function fillDevices(select: HTMLSelectElement, list: DeviceInfo[], chosen: string | null): void {
  // Rebuilt only when it changes: a list rebuilt under an open menu closes it.
  const key = JSON.stringify([list, chosen, language()]);
  if (select.dataset["key"] === key) return;
  select.dataset["key"] = key;
  const def = document.createElement("option");
  def.value = "";
  def.textContent = t("audio.systemDefault");
  select.replaceChildren(
    def,
    ...list.map((d) => {
      const o = document.createElement("option");
      o.value = d.id;
      o.textContent = d.isDefault ? t("audio.isDefault", { name: d.name }) : d.name;
      o.selected = d.id === chosen;
      return o;
    }),
  );
}

/** The last view, drawn again in a new language. */
let shown: AudioView | null = null;

function render(v: AudioView): void {
  // A reply or event can arrive after a newer view: keep the newest.
  if (shown && v.seq < shown.seq) return;
  shown = v;
  fillDevices(el<HTMLSelectElement>("input-device"), v.inputs, v.input);
  fillDevices(el<HTMLSelectElement>("output-device"), v.outputs, v.output);
  setText(el("mic-in-use"), v.inputInUse ? `(${v.inputInUse})` : t("audio.noMicrophone"));
  const notice = el("device-notice");
  notice.hidden = v.notice == null;
  setText(notice, v.notice ? say(v.notice) : "");
  el<HTMLInputElement>("stage-echo").checked = v.stages.echoCancellation;
  el<HTMLInputElement>("stage-noise").checked = v.stages.noiseSuppression;
  el<HTMLInputElement>("stage-gain").checked = v.stages.autoGainControl;
}

function renderMic(a: MicActivity): void {
  const db = Math.max(FLOOR_DB, Math.min(0, a.level.dbfs));
  const meter = el("mic-meter");
  meter.setAttribute("aria-valuenow", String(Math.round(db)));
  el("mic-meter-fill").style.width = `${Math.round(((db - FLOOR_DB) / -FLOOR_DB) * 100)}%`;
  el("muted-hint").hidden = !a.mutedTalking;
}

async function chooseDevices(): Promise<void> {
  const input = el<HTMLSelectElement>("input-device").value || null;
  const output = el<HTMLSelectElement>("output-device").value || null;
  try {
    await ipc.chooseDevices(input, output);
  } catch (e) {
    const notice = el("device-notice");
    notice.textContent = t("audio.couldNotSwitch", { why: sayRefusal(e) });
    notice.hidden = false;
  }
}

async function setStages(): Promise<void> {
  try {
    await ipc.setAudioStages({
      echoCancellation: el<HTMLInputElement>("stage-echo").checked,
      noiseSuppression: el<HTMLInputElement>("stage-noise").checked,
      autoGainControl: el<HTMLInputElement>("stage-gain").checked,
    });
  } catch (e) {
    const notice = el("device-notice");
    notice.textContent = sayRefusal(e);
    notice.hidden = false;
  }
}

export async function startAudio(): Promise<void> {
  el("input-device").addEventListener("change", () => void chooseDevices());
  el("output-device").addEventListener("change", () => void chooseDevices());
  for (const id of ["stage-echo", "stage-noise", "stage-gain"]) {
    el(id).addEventListener("change", () => void setStages());
  }
  await ipc.onAudioView(render);
  await ipc.onMicActivity(renderMic);
  render(await ipc.audioView());
  onLanguage(() => {
    if (shown) render(shown);
  });
}
