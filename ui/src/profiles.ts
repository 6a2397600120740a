import type { ProfileDraft } from "./generated/ProfileDraft";
import type { ProfileError } from "./generated/ProfileError";
import type { ProfileInfo } from "./generated/ProfileInfo";
import * as ipc from "./generated/ipc";
import type { ProfileKind } from "./generated/ProfileKind";
import type { ProfilesView } from "./generated/ProfilesView";
import { el, setText } from "./dom";
import { language, onLanguage, say, t } from "./i18n";

// Server profiles: choose, add, edit, delete. Secrets typed here go to Rust
// once, on save, and are cleared from the form; nothing sends them back.

let current: ProfilesView = { profiles: [], selected: null, problem: null };
let editing: ProfileInfo | null = null;
let onChosen: (p: ProfileInfo | null) => void = () => undefined;
let lastChosen: string | null | undefined = undefined;

export function chosenProfile(): ProfileInfo | null {
  return current.profiles.find((p) => p.id === current.selected) ?? null;
}

function describe(p: ProfileInfo): string {
  switch (p.kind) {
    case "tokenEndpoint":
      return t("profiles.tokensFrom", { endpoint: p.endpoint ?? "?" });
    case "selfHosted":
      return t("profiles.mintedHere");
    case "pastedToken": {
      const at = p.tokenExpiresAtMs;
      if (at == null) return t("profiles.pasted");
      const left = at - Date.now();
      const when = new Date(at).toLocaleString(language());
      return t(left > 0 ? "profiles.pastedUntil" : "profiles.pastedExpired", { when });
    }
  }
}

/** A profile's name as the person reads it: the one made from the
 * environment is named in the page's language. */
export function profileLabel(id: string, name: string): string {
  return current.profiles.some((p) => p.id === id && p.fromEnvironment) ? t("profiles.fromEnvironment") : name;
}

function render(): void {
  const select = el<HTMLSelectElement>("profile-select");
  select.replaceChildren(
    ...current.profiles.map((p) => {
      const o = document.createElement("option");
      o.value = p.id;
      o.textContent = profileLabel(p.id, p.name);
      o.selected = p.id === current.selected;
      return o;
    }),
  );
  const chosen = chosenProfile();
  el("profile-summary").textContent = chosen
    ? describe(chosen)
    : t("profiles.none");
  const fixed = !chosen || chosen.fromEnvironment;
  el<HTMLButtonElement>("profile-edit").disabled = fixed;
  el<HTMLButtonElement>("profile-delete").disabled = fixed;
  const problem = el("profile-problem");
  problem.hidden = current.problem == null;
  setText(problem, current.problem ? say(current.problem) : "");
  // A delete asked for one profile is not a confirmation for another.
  const del = el<HTMLButtonElement>("profile-delete");
  if (del.dataset["confirm"] !== chosen?.id) {
    delete del.dataset["confirm"];
    setText(del, t("profiles.delete"));
  }
  // The join form is refilled only when the choice changes, so what the
  // user typed there survives a save or a reload.
  const id = chosen?.id ?? null;
  if (id !== lastChosen) {
    lastChosen = id;
    onChosen(chosen);
  }
}

async function reload(): Promise<void> {
  current = await ipc.profiles();
  render();
}

function showKind(kind: ProfileKind): void {
  for (const part of document.querySelectorAll<HTMLElement>("[data-testid='profile-form'] [data-kind]")) {
    part.hidden = part.dataset["kind"] !== kind;
  }
}

function kindChosen(): ProfileKind {
  const checked = document.querySelector<HTMLInputElement>("[data-testid='profile-form'] input[name='kind']:checked");
  const v = checked?.value;
  return v === "selfHosted" || v === "pastedToken" ? v : "tokenEndpoint";
}

function secretField(kind: ProfileKind): string {
  return kind === "tokenEndpoint" ? "profile-credential" : kind === "selfHosted" ? "profile-api-secret" : "profile-token";
}

function clearSecrets(): void {
  for (const id of ["profile-credential", "profile-api-secret", "profile-token"]) {
    el<HTMLInputElement | HTMLTextAreaElement>(id).value = "";
  }
}

function openForm(p: ProfileInfo | null): void {
  editing = p;
  const form = el<HTMLFormElement>("profile-form");
  form.reset();
  el<HTMLInputElement>("profile-name").value = p?.name ?? "";
  el<HTMLInputElement>("profile-url").value = p?.url ?? "";
  el<HTMLInputElement>("profile-room").value = p?.room ?? "";
  el<HTMLInputElement>("profile-endpoint").value = p?.endpoint ?? "";
  el<HTMLInputElement>("profile-api-key").value = p?.apiKey ?? "";
  const kind = p?.kind ?? "tokenEndpoint";
  for (const r of form.querySelectorAll<HTMLInputElement>("input[name='kind']")) r.checked = r.value === kind;
  // "Keep" only where the stored secret is of that kind.
  const stored = p ? secretField(p.kind) : null;
  for (const id of ["profile-credential", "profile-api-secret", "profile-token"]) {
    el<HTMLInputElement | HTMLTextAreaElement>(id).placeholder =
      id === stored ? "stored in the keychain; leave empty to keep it" : "";
  }
  showKind(kind);
  el("profile-error").hidden = true;
  form.hidden = false;
}

function closeForm(): void {
  clearSecrets();
  el<HTMLFormElement>("profile-form").hidden = true;
  editing = null;
}

function showError(id: string, e: unknown): void {
  const box = el(id);
  const err = e as ProfileError;
  box.textContent =
    err.message == null ? String(e) : say(err.message);
  box.dataset["kind"] = err.kind ?? "failed";
  box.hidden = false;
}

async function save(): Promise<void> {
  const kind = kindChosen();
  const secret = el<HTMLInputElement | HTMLTextAreaElement>(secretField(kind)).value.trim();
  const draft: ProfileDraft = {
    id: editing?.id ?? null,
    name: el<HTMLInputElement>("profile-name").value,
    kind,
    url: el<HTMLInputElement>("profile-url").value,
    room: el<HTMLInputElement>("profile-room").value,
    endpoint: el<HTMLInputElement>("profile-endpoint").value || null,
    apiKey: el<HTMLInputElement>("profile-api-key").value || null,
    secret: secret === "" ? null : secret,
  };
  try {
    await ipc.saveProfile(draft);
    closeForm();
    await reload();
  } catch (e) {
    showError("profile-error", e);
  }
}

async function remove(): Promise<void> {
  const chosen = chosenProfile();
  if (!chosen || chosen.fromEnvironment) return;
  // Two clicks: the first asks.
  const button = el<HTMLButtonElement>("profile-delete");
  if (button.dataset["confirm"] !== chosen.id) {
    button.dataset["confirm"] = chosen.id;
    button.textContent = t("profiles.deleteConfirm", { name: chosen.name });
    return;
  }
  delete button.dataset["confirm"];
  button.textContent = t("profiles.delete");
  try {
    await ipc.deleteProfile(chosen.id);
    el("profile-problem").hidden = true;
    await reload();
  } catch (e) {
    showError("profile-problem", e);
  }
}

/** Sets the profile controls up; `chosen` hears which profile the join form should use. */
/** Makes `id` the chosen profile, as choosing it in the list does. */
export async function chooseProfile(id: string): Promise<void> {
  current = { ...current, selected: id };
  render();
  await ipc.selectProfile(id).catch(() => undefined);
}

/** Opens the new-profile form with the server filled in (from a link). */
export function newProfileFor(url: string): void {
  openForm(null);
  el<HTMLInputElement>("profile-url").value = url;
  el<HTMLInputElement>("profile-name").focus();
}

export async function startProfiles(chosen: (p: ProfileInfo | null) => void): Promise<void> {
  onChosen = chosen;
  el("profile-new").addEventListener("click", () => openForm(null));
  el("profile-edit").addEventListener("click", () => openForm(chosenProfile()));
  el("profile-delete").addEventListener("click", () => void remove());
  el("profile-cancel").addEventListener("click", closeForm);
  el<HTMLSelectElement>("profile-select").addEventListener("change", (ev) => {
    const id = (ev.target as HTMLSelectElement).value;
    current = { ...current, selected: id };
    render();
    void ipc.selectProfile(id).catch(() => undefined);
  });
  for (const r of document.querySelectorAll<HTMLInputElement>("[data-testid='profile-form'] input[name='kind']")) {
    r.addEventListener("change", () => showKind(kindChosen()));
  }
  el<HTMLFormElement>("profile-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void save();
  });
  onLanguage(render);
  await reload();
}
