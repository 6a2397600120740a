import type { LinkView } from "./generated/LinkView";
import * as ipc from "./generated/ipc";
import { formRequest, join } from "./call";
import { chooseProfile, newProfileFor } from "./profiles";
import { el, setText } from "./dom";

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
    notice(`Type your name, then press Join to join ${room}.`, null, null);
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
        notice(`Leave ${v.leaving} and join ${v.room} (${v.profileName})?`, "Leave and join", () => {
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
        `This link is for ${v.server}, which none of your profiles uses. Nothing was joined.`,
        canMake ? "Make a profile for it" : null,
        canMake ? () => newProfileFor(v.server) : null,
      );
      break;
    }
    case "unknownProfile":
      notice(`This link asks for the profile “${v.profile}”, which you do not have. Nothing was joined.`, null, null);
      break;
    case "unreadable":
      notice(v.why, null, null);
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
  await ipc.onLink(open);
  const pending = await ipc.takeLink();
  if (pending) open(pending);
}
