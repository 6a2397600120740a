import type { ConnectionQuality } from "./generated/ConnectionQuality";
import type { QualityReason } from "./generated/QualityReason";
import { t } from "./i18n";

// Shape and word, never colour alone: bars for how good, a cross for lost,
// a question mark for not known yet.
function qualityWord(q: ConnectionQuality): string {
  return t(`quality.${q}`);
}

const SVG = "http://www.w3.org/2000/svg";

function bars(filled: number): SVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 18 14");
  svg.setAttribute("aria-hidden", "true");
  for (let i = 0; i < 3; i++) {
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", String(i * 6));
    r.setAttribute("y", String(10 - i * 4));
    r.setAttribute("width", "4");
    r.setAttribute("height", String(4 + i * 4));
    r.setAttribute("class", i < filled ? "bar on" : "bar off");
    svg.appendChild(r);
  }
  return svg;
}

function glyph(text: string): SVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 14 14");
  svg.setAttribute("aria-hidden", "true");
  const t = document.createElementNS(SVG, "text");
  t.setAttribute("x", "7");
  t.setAttribute("y", "12");
  t.setAttribute("text-anchor", "middle");
  t.textContent = text;
  svg.appendChild(t);
  return svg;
}

/**
 * A quality icon with its label and accessible text, and why: the reason is
 * in the label and the tooltip always, and written beside the icon when it
 * names a problem ("Poor — 12 % packet loss"); with `iconOnly`, the icon
 * alone shows, the rest in its label and tooltip.
 */
export function qualityIcon(q: ConnectionQuality, reason?: QualityReason, iconOnly = false): HTMLSpanElement {
  const span = document.createElement("span");
  span.className = `quality quality-${q}`;
  span.dataset["quality"] = q;
  span.setAttribute("role", "img");
  const why = reason ? ` — ${reason.text}` : "";
  span.setAttribute("aria-label", t("quality.aria", { quality: qualityWord(q) + why }));
  span.title = `${qualityWord(q)}${why}`;
  const icon =
    q === "excellent" ? bars(3) : q === "good" ? bars(2) : q === "poor" ? bars(1) : glyph(q === "lost" ? "✕" : "?");
  span.appendChild(icon);
  // Where room is short (a video tile): the icon, its words in its label.
  if (iconOnly) return span;
  const label = document.createElement("span");
  label.className = "quality-label";
  label.textContent = qualityWord(q);
  span.appendChild(label);
  if (reason?.problem) {
    const r = document.createElement("span");
    r.className = "quality-reason";
    r.dataset["testid"] = "quality-reason";
    r.textContent = `— ${reason.text}`;
    span.appendChild(r);
  }
  return span;
}
