import en from "./locales/en.json";
import de from "./locales/de.json";
import * as ipc from "./generated/ipc";

// The page's words, from one resource file per language (`locales/`):
// `{name}` is filled in, and a message with "one"/"other" forms is chosen
// by the language's plural rule for `n`. The language follows the system
// (the webview's `navigator.language`) unless the person picks one.

type Catalog = typeof en;
export type Key = keyof Catalog;
/** A language's file must have every key English has, in the same form. */
const german: Catalog = de;
const catalogs: Record<string, Catalog> = { en, de: german };
export const LANGUAGES: ReadonlyArray<[code: string, name: string]> = [
  ["en", "English"],
  ["de", "Deutsch"],
];
const CHOICE = "rtcstack.language";

/** The system's languages, as Rust reads them (the webview's own guess
 * misses a language whose locale is not installed). */
let system: readonly string[] = [];

function systemLanguage(): string {
  for (const l of [...system, ...navigator.languages]) {
    const base = l.toLowerCase().split(/[-_]/)[0] ?? "";
    if (base in catalogs) return base;
  }
  return "en";
}

/** The person's choice ("" for the system's). */
export function chosenLanguage(): string {
  const c = localStorage.getItem(CHOICE) ?? "";
  return c in catalogs ? c : "";
}

let lang = chosenLanguage() || systemLanguage();
let plural = new Intl.PluralRules(lang);

export function language(): string {
  return lang;
}

/** The message `key`, with `params` filled in (`n` picks the plural form). */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const catalog = catalogs[lang] ?? en;
  const message = catalog[key];
  const text =
    typeof message === "string"
      ? message
      : plural.select(Number(params["n"] ?? 0)) === "one"
        ? message.one
        : message.other;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => String(params[name] ?? whole));
}

/** The page's fixed words, from `data-i18n` (text), `data-i18n-label`
 * (aria-label) and `data-i18n-title` attributes. */
export function translatePage(): void {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    e.textContent = t(e.dataset["i18n"] as Key);
  }
  for (const e of document.querySelectorAll<HTMLElement>("[data-i18n-label]")) {
    e.setAttribute("aria-label", t(e.dataset["i18nLabel"] as Key));
  }
  for (const e of document.querySelectorAll<HTMLElement>("[data-i18n-title]")) {
    e.title = t(e.dataset["i18nTitle"] as Key);
  }
}

const listeners: Array<() => void> = [];

/** Runs `redraw` after each change of language. */
export function onLanguage(redraw: () => void): void {
  listeners.push(redraw);
}

/** Chooses a language ("" for the system's) and redraws. */
export function chooseLanguage(code: string): void {
  if (code === "") localStorage.removeItem(CHOICE);
  else localStorage.setItem(CHOICE, code);
  lang = code || systemLanguage();
  plural = new Intl.PluralRules(lang);
  translatePage();
  for (const redraw of listeners) redraw();
}

/** The page in its language, and the picker in the settings. */
export async function startLanguage(): Promise<void> {
  system = await ipc.systemLanguages().catch(() => []);
  lang = chosenLanguage() || systemLanguage();
  plural = new Intl.PluralRules(lang);
  translatePage();
  const picker = document.querySelector<HTMLSelectElement>("[data-testid=language]");
  if (!picker) return;
  const fill = (): void => {
    const system = document.createElement("option");
    system.value = "";
    system.textContent = t("language.system");
    picker.replaceChildren(
      system,
      ...LANGUAGES.map(([code, name]) => {
        const o = document.createElement("option");
        o.value = code;
        o.textContent = name;
        o.lang = code;
        return o;
      }),
    );
    picker.value = chosenLanguage();
  };
  fill();
  onLanguage(fill);
  picker.addEventListener("change", () => chooseLanguage(picker.value));
}
