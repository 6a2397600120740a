import type { StatsView } from "./generated/StatsView";
import * as ipc from "./generated/ipc";
import { el, setText } from "./dom";
import { onLanguage, t } from "./i18n";

// The stats panel: the call's statistics as the Rust side measures them,
// once a second. The page only lays them out (and copies them as text).

let last: StatsView | null = null;

const ms = (v: number | null): string => (v == null ? "–" : `${Math.round(v)} ms`);

function connections(s: StatsView): string {
  const rows = s.connections.map((c) =>
    t("stats.connection", { role: c.role, path: c.path ?? t("stats.noPath"), rtt: ms(c.rttMs) }),
  );
  return [t("stats.roundTrip", { rtt: ms(s.rttMs) }), ...rows].join(" · ");
}

function cells(r: StatsView["streams"][number]): string[] {
  return [
    r.identity,
    t(r.inbound ? "stats.in" : "stats.out"),
    r.rid ? `${r.kind} ${r.rid}` : r.kind,
    r.codec ?? "–",
    r.measured ? `${r.lossPercent.toFixed(1)} %` : "–",
    `${Math.round(r.kbps)} kbps`,
    r.measured ? ms(r.jitterMs) : "–",
    ms(r.rttMs),
    r.concealedPercent == null ? "–" : `${r.concealedPercent.toFixed(1)} %`,
    r.repairedPercent == null ? "–" : `${r.repairedPercent.toFixed(1)} %`,
    ms(r.playoutDelayMs),
    r.picture ?? "–",
  ];
}

function render(s: StatsView): void {
  last = s;
  setText(el("stats-connections"), connections(s));
  el("stats-rows").replaceChildren(
    ...s.streams.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset["testid"] = "stats-row";
      tr.dataset["identity"] = r.identity;
      tr.dataset["way"] = r.inbound ? "in" : "out";
      for (const c of cells(r)) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

/** The panel as plain text, for a bug report or a chat. */
function asText(s: StatsView): string {
  return [connections(s), ...s.streams.map((r) => cells(r).join("\t"))].join("\n");
}

export async function startStats(): Promise<void> {
  onLanguage(() => {
    if (last) render(last);
  });
  el("stats-copy").addEventListener("click", () => {
    if (last) void navigator.clipboard?.writeText(asText(last));
  });
  await ipc.onCallStats(render);
}
