import en from "./locales/en.json";
import de from "./locales/de.json";
import * as ipc from "./generated/ipc";
import type { LanguageView } from "./generated/LanguageView";
import type { Sentence } from "./generated/Sentence";

// The page's words, from one resource file per language (`locales/`,
// which Rust reads too): `{name}` is filled in, and a message with
// "one"/"other" forms is chosen by the language's plural rule for `n`.
// Which language is Rust's to say (the person's choice, else the
// system's): the tray and notifications speak it too.

type Catalog = typeof en;
export type Key = keyof Catalog;
/** A language's file must have every key English has, in the same form. */
const german: Catalog = de;
const catalogs: Record<string, Catalog> = { en, de: german };

/** Rust's word on the language, until it gives it: English. */
let current: LanguageView = {
  language: "en",
  chosen: null,
  problem: null,
  offered: [["en", "English"]],
};
let lang = "en";
let plural = new Intl.PluralRules(lang);

function take(view: LanguageView): void {
  current = view;
  lang = view.language in catalogs ? view.language : "en";
  plural = new Intl.PluralRules(lang);
  if (view.problem) console.warn(say(view.problem));
}

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

/** A sentence Rust sent, in the page's language (and any inside it). */
export function say(sentence: Sentence): string {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(sentence.params)) {
    params[name] = typeof value === "string" ? value : say(value);
  }
  return t(sentence.key, params);
}

/** A command's refusal as words: a sentence of Rust's in the page's
 * language, anything else (the bridge's own failure) as it is. */
export function sayRefusal(e: unknown): string {
  return typeof e === "object" && e !== null && "key" in e && "params" in e ? say(e as Sentence) : String(e);
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

/** Chooses a language ("" for the system's), kept by Rust, and redraws. */
export async function chooseLanguage(code: string): Promise<void> {
  try {
    take(await ipc.chooseLanguage(code === "" ? null : code));
  } catch (e) {
    console.warn(`language not chosen: ${sayRefusal(e)}`);
    return;
  }
  translatePage();
  for (const redraw of listeners) redraw();
}

/** The page in its language, and the picker in the settings. */
export async function startLanguage(): Promise<void> {
  await ipc
    .languageView()
    .then(take)
    .catch((e: unknown) => console.warn(`no language from Rust: ${String(e)}`));
  translatePage();
  const picker = document.querySelector<HTMLSelectElement>("[data-testid=language]");
  if (!picker) return;
  const fill = (): void => {
    const system = document.createElement("option");
    system.value = "";
    system.textContent = t("language.system");
    picker.replaceChildren(
      system,
      ...current.offered.map(([code, name]) => {
        const o = document.createElement("option");
        o.value = code;
        o.textContent = name;
        o.lang = code;
        return o;
      }),
    );
    picker.value = current.chosen ?? "";
  };
  fill();
  onLanguage(fill);
  picker.addEventListener("change", () => void chooseLanguage(picker.value));
}
