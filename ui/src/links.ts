import type { LinkView } from "./generated/LinkView";
import * as ipc from "./generated/ipc";
import { formRequest, join } from "./call";
import { chooseProfile, newProfileFor, profileLabel } from "./profiles";
import { el, setText } from "./dom";
import { say, t } from "./i18n";

// Meeting links, as the Rust side judged them: joined, asked about, or
// explained. A link never joins a server the person has no profile for.

/** What the notice's main button does, if it has one. */
let go: (() => void) | null = null;

function notice(text: string, button: string | null, action: (() => void) | null): void {
  setText(el("link-text"), text);
  const b = el<HTMLButtonElement>("link-go");
  b.hidden = button == null;
  setText(b, button ?? "");
  go = action;
  el("link-notice").hidden = false;
  (button ? b : el("link-dismiss")).focus();
}

function dismiss(): void {
  el("link-notice").hidden = true;
  go = null;
}

/** Fills the join form from the link and joins, if the form has a name. */
async function joinFromLink(profile: string, url: string, room: string): Promise<void> {
  await chooseProfile(profile);
  el<HTMLInputElement>("join-url").value = url;
  el<HTMLInputElement>("join-room").value = room;
  const name = el<HTMLInputElement>("join-name");
  if (name.value.trim() === "") {
    notice(t("link.typeName", { room }), null, null);
    name.focus();
    return;
  }
  dismiss();
  await join(formRequest());
}

function open(v: LinkView): void {
  switch (v.kind) {
    case "join":
      if (v.leaving != null) {
        notice(t("link.leaveAndJoin", { leaving: v.leaving, room: v.room, profile: profileLabel(v.profile, v.profileName) }), t("link.leaveAndJoinButton"), () => {
          void ipc.leave().then(() => joinFromLink(v.profile, v.url, v.room));
        });
      } else {
        void joinFromLink(v.profile, v.url, v.room);
      }
      break;
    case "unknownServer": {
      // The profile form is on the join screen, not in a call.
      const canMake = !el("join-screen").hidden;
      notice(
        t("link.unknownServer", { server: v.server }),
        canMake ? t("link.makeProfile") : null,
        canMake ? () => newProfileFor(v.server) : null,
      );
      break;
    }
    case "unknownProfile":
      notice(t("link.unknownProfile", { profile: v.profile }), null, null);
      break;
    case "unreadable":
      notice(say(v.why), null, null);
      break;
  }
}

export async function startLinks(): Promise<void> {
  el("link-go").addEventListener("click", () => {
    const action = go;
    dismiss();
    action?.();
  });
  el("link-dismiss").addEventListener("click", dismiss);
  // Each link is taken once from Rust, whether it came before the page
  // (at start) or while it runs (the event says one is there).
  const take = async (): Promise<void> => {
    const link = await ipc.takeLink();
    if (link) open(link);
  };
  await ipc.onLink(() => void take());
  await take();
}
