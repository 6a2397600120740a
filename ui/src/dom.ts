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

/** Whether the element has a box on the page: `display: none`, its own or
 * an ancestor's, leaves it none. */
export function rendered(e: HTMLElement): boolean {
  return e.getClientRects().length > 0;
}
