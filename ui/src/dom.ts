// Small DOM helpers shared by the page's modules.

/** The element with this `data-testid`; missing is a bug in the page. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`missing element ${id}`);
  return found;
}

/**
 * Sets an element's text only when it changes. Rewriting it replaces the
 * text node under the pointer, and a press whose node went away between
 * mouse down and up is no click: views arrive several times a second, so an
 * unconditional write made the Mute button miss clicks.
 */
export function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/**
 * Says `words` in the live region `region`, as a new paragraph in place of
 * the last: screen readers are told of content added to a live region on
 * every platform, while a changed text goes unheard on some (WebKitGTK
 * sends no accessibility event for it). The same words again are not new.
 */
export function announce(region: HTMLElement, words: string): void {
  if (region.textContent === words) return;
  if (words === "") {
    region.replaceChildren();
    return;
  }
  const said = document.createElement("p");
  said.textContent = words;
  region.replaceChildren(said);
}

/** Whether the element has a box on the page: `display: none`, its own or
 * an ancestor's, leaves it none. */
export function rendered(e: HTMLElement): boolean {
  return e.getClientRects().length > 0;
}
