//! The contract between the window and Rust, in one place: every command's
//! name, arguments, answer and refusal, every event's name and payload. The
//! shell registers its handlers and emits its events by these names (its
//! unit test checks the handler list against [`COMMANDS`]); a unit test
//! here writes the same contract as `ui/src/generated/ipc.ts`, typed
//! wrappers the UI imports instead of repeating names, and the lint fails
//! when the committed file is not what Rust says.

use std::path::Path;

use ts_rs::TS;

use crate::audio::{AudioView, MicActivity};
use crate::call::{CallView, JoinError, JoinRequest, StatsView};
use crate::check::CheckView;
use crate::i18n::Sentence;
use crate::language::LanguageView;
use crate::links::LinkView;
use crate::profiles::{ProfileDraft, ProfileError, ProfileInfo, ProfilesView};
use crate::push_to_talk::PushToTalkView;
use crate::update::UpdateView;
use crate::video::native::Placement;
use crate::video::{CameraInfo, ShareTarget, Shareable, TileSize};

/// Event names.
pub mod event {
    /// The call's view, whole, on every change.
    pub const CALL_VIEW: &str = "call-view";
    /// The updater's status, on every change.
    pub const UPDATE_STATUS: &str = "update-status";
    /// Devices, the choice, what is in use, processing: on every change.
    pub const AUDIO_VIEW: &str = "audio-view";
    /// The microphone's level, ten times a second.
    pub const MIC_ACTIVITY: &str = "mic-activity";
    /// The call's statistics, once a second during a call.
    pub const CALL_STATS: &str = "call-stats";
    /// The pre-call check, as each line is found.
    pub const CHECK_VIEW: &str = "check-view";
    /// A meeting link was opened: what to do with it.
    pub const LINK: &str = "link";
    /// Push-to-talk's key, when it changes outside a command (the desktop
    /// bound it, or the person picked another in the desktop's settings).
    pub const PUSH_TO_TALK_VIEW: &str = "push-to-talk-view";
    /// A tile the window draws has its first picture (the track's sid).
    pub const VIDEO_SHOWN: &str = "video-shown";
}

/// Writes a type's generated file, and those of the types it names.
type Exporter = fn(&ts_rs::Config) -> Result<(), ts_rs::ExportError>;

/// A TypeScript type, and the generated files it needs imported (and
/// written: a type only a command names is exported with the contract).
pub struct TsType {
    name: String,
    imports: Vec<String>,
    exports: Vec<Exporter>,
}

fn ts<T: TS + 'static + ?Sized>() -> TsType {
    /// The exported types a signature names itself (`Option<Foo>`: `Foo`),
    /// not what those depend on: an unused import fails the UI's check.
    struct Named<'a>(&'a ts_rs::Config, Vec<String>, Vec<Exporter>);
    impl ts_rs::TypeVisitor for Named<'_> {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            if T::output_path().is_some() {
                self.1.push(T::ident(self.0));
                self.2.push(T::export_all);
            }
            T::visit_generics(self);
        }
    }
    let cfg = ts_rs::Config::new();
    let mut named = Named(&cfg, Vec::new(), Vec::new());
    ts_rs::TypeVisitor::visit::<T>(&mut named);
    TsType {
        name: T::name(&cfg),
        imports: named.1,
        exports: named.2,
    }
}

fn nothing() -> TsType {
    TsType {
        name: "void".into(),
        imports: Vec::new(),
        exports: Vec::new(),
    }
}

/// One command: its name (the handler's function name), its arguments by
/// the names the UI passes them, what it answers and what it rejects with.
pub struct Command {
    pub name: &'static str,
    pub doc: &'static str,
    pub args: Vec<(&'static str, TsType)>,
    pub answer: TsType,
    pub refusal: Option<TsType>,
}

/// One event: its name and payload.
pub struct Event {
    pub name: &'static str,
    pub doc: &'static str,
    pub payload: TsType,
}

fn command(name: &'static str, doc: &'static str, answer: TsType) -> Command {
    Command {
        name,
        doc,
        args: Vec::new(),
        answer,
        refusal: None,
    }
}

impl Command {
    fn arg(mut self, name: &'static str, ty: TsType) -> Self {
        self.args.push((name, ty));
        self
    }

    fn refused_with(mut self, ty: TsType) -> Self {
        self.refusal = Some(ty);
        self
    }
}

/// Every command the UI may invoke. (The end-to-end tests' hooks are not
/// the UI's, and are not listed.)
pub fn commands() -> Vec<Command> {
    vec![
        command(
            "call_view",
            "The call's view now (the page has just loaded).",
            ts::<CallView>(),
        ),
        command(
            "join",
            "Joins a room (leaving the current call). The view comes as `call-view` events.",
            nothing(),
        )
        .arg("request", ts::<JoinRequest>())
        .refused_with(ts::<JoinError>()),
        command("leave", "Leaves the call.", nothing()),
        command(
            "set_muted",
            "Mutes or unmutes; the view says so once the server confirms.",
            nothing(),
        )
        .arg("muted", ts::<bool>()),
        command(
            "show_video",
            "How large a remote video (by track sid) is drawn, in device pixels, \
             or null when it is not on screen: the server sends what fits.",
            nothing(),
        )
        .arg("trackSid", ts::<String>())
        .arg("size", ts::<Option<TileSize>>()),
        command(
            "place_videos",
            "Where every tile's picture is in the window (device pixels), for the window \
             to draw them over the page; true if it does, false if the page draws them.",
            ts::<bool>(),
        )
        .arg("placements", ts::<Vec<Placement>>()),
        command(
            "videos_painted",
            "Pictures the window has painted over the page so far, all tiles.",
            ts::<u64>(),
        ),
        command(
            "shareables",
            "What can be shared now: the whole screen first, each monitor where there \
             are several, then other applications' windows. Refused with the reason, a sentence.",
            ts::<Vec<Shareable>>(),
        )
        .refused_with(ts::<Sentence>()),
        command(
            "cameras",
            "The cameras there are now, by name. Refused with the reason, a sentence.",
            ts::<Vec<CameraInfo>>(),
        )
        .refused_with(ts::<Sentence>()),
        command(
            "show_camera",
            "Shows a camera to the call (instead of the one shown), or stops it (null: \
             muted, the camera let go); the view's `camera` and `cameraMuted` say so once \
             done. Refused with the reason, a sentence.",
            nothing(),
        )
        .arg("id", ts::<Option<String>>())
        .refused_with(ts::<Sentence>()),
        command(
            "share_screen",
            "Shares the screen, a monitor or a window into the call (instead of what is shared), or \
             stops (null); the view's `sharing` says so once done. Refused with the \
             reason, a sentence.",
            nothing(),
        )
        .arg("target", ts::<Option<ShareTarget>>())
        .refused_with(ts::<Sentence>()),
        command(
            "video_socket",
            "Where the page takes remote video from (`ws://…/TOKEN`; a track's sid \
             after a slash), or null when there is none.",
            ts::<Option<String>>(),
        ),
        command(
            "retry_now",
            "The waiting reconnect attempt starts now.",
            nothing(),
        ),
        command(
            "check_view",
            "The pre-call check as it stands (the page has just loaded).",
            ts::<CheckView>(),
        ),
        command(
            "run_check",
            "Runs the pre-call check for what the join form holds (lines come as `check-view` events); answers the finished check.",
            ts::<CheckView>(),
        )
        .arg("request", ts::<JoinRequest>()),
        command(
            "save_call_report",
            "Saves the current or last call's report (summary and timeline, no secrets) in the Downloads folder; answers the file's path.",
            ts::<String>(),
        )
        .refused_with(ts::<Sentence>()),
        command(
            "audio_view",
            "Devices, the choice, what is in use, processing (then `audio-view` events).",
            ts::<AudioView>(),
        ),
        command(
            "choose_devices",
            "Chooses devices, kept for next time; in a call they switch at once.",
            nothing(),
        )
        .arg("input", ts::<Option<String>>())
        .arg("output", ts::<Option<String>>())
        .refused_with(ts::<Sentence>()),
        command(
            "set_audio_stages",
            "Switches echo cancellation, noise suppression and gain control, at once and for next time.",
            nothing(),
        )
        .arg("stages", ts::<rtcstack::audio::processing::Stages>())
        .refused_with(ts::<Sentence>()),
        command(
            "language_view",
            "The language the app speaks, and the person's choice.",
            ts::<LanguageView>(),
        ),
        command(
            "choose_language",
            "Speaks `code` (\"de\"; null: the system's) in the page, the tray and notifications, kept for next time. Refused for a language without words.",
            ts::<LanguageView>(),
        )
        .arg("code", ts::<Option<String>>())
        .refused_with(ts::<Sentence>()),
        command(
            "take_link",
            "A meeting link that came before the page could take it (then `link` events).",
            ts::<Option<LinkView>>(),
        ),
        command(
            "push_to_talk_view",
            "The push-to-talk key, and why it does not work if it does not.",
            ts::<PushToTalkView>(),
        ),
        command(
            "set_push_to_talk_key",
            "Takes a key (\"F9\", \"Ctrl+Space\") system-wide for push-to-talk, kept for next time; null turns it off. Refused, with the reason, when it is not a key or another application has it.",
            ts::<PushToTalkView>(),
        )
        .arg("key", ts::<Option<String>>())
        .refused_with(ts::<Sentence>()),
        command(
            "set_mini_view",
            "Shows the mini view (a small window above the others) or the full view again, where and as large as it was. Refused, with why, when the window cannot be changed.",
            nothing(),
        )
        .arg("on", ts::<bool>())
        .refused_with(ts::<Sentence>()),
        command(
            "profiles",
            "The server profiles and the chosen one.",
            ts::<ProfilesView>(),
        ),
        command(
            "save_profile",
            "Saves a new or edited profile (its secret to the keychain).",
            ts::<ProfileInfo>(),
        )
        .arg("draft", ts::<ProfileDraft>())
        .refused_with(ts::<ProfileError>()),
        command(
            "delete_profile",
            "Deletes a profile and its secret.",
            nothing(),
        )
        .arg("id", ts::<String>())
        .refused_with(ts::<ProfileError>()),
        command(
            "select_profile",
            "Chooses the profile the join form starts with.",
            nothing(),
        )
        .arg("id", ts::<String>())
        .refused_with(ts::<ProfileError>()),
        command(
            "update_status",
            "The updater's status now.",
            ts::<UpdateView>(),
        ),
        command("update_check", "Looks for an update now.", nothing()),
        command(
            "update_apply",
            "Installs the downloaded update and restarts; refused during a call.",
            nothing(),
        )
        .refused_with(ts::<Sentence>()),
    ]
}

/// Every event the UI may listen to.
pub fn events() -> Vec<Event> {
    vec![
        Event {
            name: event::CALL_VIEW,
            doc: "The call's view, whole, on every change.",
            payload: ts::<CallView>(),
        },
        Event {
            name: event::UPDATE_STATUS,
            doc: "The updater's status, on every change.",
            payload: ts::<UpdateView>(),
        },
        Event {
            name: event::AUDIO_VIEW,
            doc: "Devices, the choice, what is in use, processing: on every change.",
            payload: ts::<AudioView>(),
        },
        Event {
            name: event::MIC_ACTIVITY,
            doc: "The microphone's level, ten times a second.",
            payload: ts::<MicActivity>(),
        },
        Event {
            name: event::CALL_STATS,
            doc: "The call's statistics, once a second during a call.",
            payload: ts::<StatsView>(),
        },
        Event {
            name: event::CHECK_VIEW,
            doc: "The pre-call check, as each line is found.",
            payload: ts::<CheckView>(),
        },
        Event {
            name: event::LINK,
            doc: "A meeting link was opened: what to do with it.",
            payload: ts::<LinkView>(),
        },
        Event {
            name: event::PUSH_TO_TALK_VIEW,
            doc: "Push-to-talk's key, when it changes outside a command (the desktop bound it, or the person picked another in the desktop's settings).",
            payload: ts::<PushToTalkView>(),
        },
        Event {
            name: event::VIDEO_SHOWN,
            doc: "A tile the window draws has its first picture (the track's sid): the page shows the tile as live from then on.",
            payload: ts::<String>(),
        },
    ]
}

/// `snake_case` or `kebab-case` as `camelCase`, with a first capital if
/// asked.
fn camel(name: &str, capital: bool) -> String {
    let mut out = String::new();
    let mut up = capital;
    for c in name.chars() {
        if c == '_' || c == '-' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The contract as a TypeScript module.
pub fn typescript() -> String {
    let commands = commands();
    let events = events();
    let mut imports: Vec<String> = commands
        .iter()
        .flat_map(|c| {
            c.args
                .iter()
                .map(|(_, t)| t)
                .chain([&c.answer])
                .chain(c.refusal.as_ref())
        })
        .chain(events.iter().map(|e| &e.payload))
        .flat_map(|t| t.imports.iter().cloned())
        .collect();
    imports.sort();
    imports.dedup();
    let mut s = String::from(
        "// Generated from Rust (crates/desktop/src/ipc.rs) by its unit tests: do not edit.\n\
         // Every command and event between the window and Rust, by name, with typed wrappers.\n\n\
         import { invoke } from \"@tauri-apps/api/core\";\n\
         import { listen, type UnlistenFn } from \"@tauri-apps/api/event\";\n",
    );
    for i in &imports {
        s += &format!("import type {{ {i} }} from \"./{i}\";\n");
    }
    s += "\n/** Command names, as Rust registers them. */\nexport const commands = {\n";
    for c in &commands {
        s += &format!("  {}: \"{}\",\n", camel(c.name, false), c.name);
    }
    s += "} as const;\n\n/** Event names, as Rust emits them. */\nexport const events = {\n";
    for e in &events {
        s += &format!("  {}: \"{}\",\n", camel(e.name, false), e.name);
    }
    s += &format!(
        "}} as const;\n\n/** The name our own camera's preview is asked for by, as a track's is. */\n\
         export const PREVIEW = \"{}\";\n",
        crate::video::PREVIEW
    );
    s += "\n/** What each command's promise rejects with, where it can. */\nexport interface Refusals {\n";
    for c in &commands {
        if let Some(r) = &c.refusal {
            s += &format!("  {}: {};\n", camel(c.name, false), r.name);
        }
    }
    s += "}\n";
    for c in &commands {
        let wrapper = camel(c.name, false);
        let params: Vec<String> = c
            .args
            .iter()
            .map(|(n, t)| format!("{}: {}", camel(n, false), t.name))
            .collect();
        let args = if c.args.is_empty() {
            String::new()
        } else {
            let fields: Vec<String> = c.args.iter().map(|(n, _)| camel(n, false)).collect();
            format!(", {{ {} }}", fields.join(", "))
        };
        let refusal = c
            .refusal
            .as_ref()
            .map(|_| format!(" Rejects with `Refusals[\"{wrapper}\"]`."))
            .unwrap_or_default();
        s += &format!(
            "\n/** {}{refusal} */\nexport function {wrapper}({}): Promise<{}> {{\n  return invoke<{}>(commands.{wrapper}{args});\n}}\n",
            c.doc,
            params.join(", "),
            c.answer.name,
            c.answer.name,
        );
    }
    for e in &events {
        let key = camel(e.name, false);
        s += &format!(
            "\n/** {} */\nexport function on{}(handle: (payload: {}) => void): Promise<UnlistenFn> {{\n  return listen<{}>(events.{key}, (e) => handle(e.payload));\n}}\n",
            e.doc,
            camel(e.name, true),
            e.payload.name,
            e.payload.name,
        );
    }
    s
}

/// Writes the module beside ts-rs's exports (`TS_RS_EXPORT_DIR`), and
/// the types its signatures name.
pub fn export(dir: &Path) -> std::io::Result<()> {
    let cfg = ts_rs::Config::new().with_out_dir(dir);
    let types = commands()
        .into_iter()
        .flat_map(|c| {
            let args = c.args.into_iter().map(|(_, t)| t);
            args.chain([c.answer]).chain(c.refusal)
        })
        .chain(events().into_iter().map(|e| e.payload));
    for export in types.flat_map(|t| t.exports) {
        export(&cfg).map_err(std::io::Error::other)?;
    }
    let path = dir.join("ipc.ts");
    let text = typescript();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_the_uis_words() {
        assert_eq!(camel("set_muted", false), "setMuted");
        assert_eq!(camel("call-view", true), "CallView");
    }

    #[test]
    fn every_command_and_event_is_in_the_module() {
        let ts = typescript();
        for c in commands() {
            assert!(ts.contains(&format!("\"{}\"", c.name)), "{}", c.name);
        }
        assert!(ts.contains("export function join(request: JoinRequest): Promise<void>"));
        assert!(ts.contains("export function onCallView(handle: (payload: CallView) => void)"));
        assert!(ts.contains("chooseDevices(input: string | null, output: string | null)"));
    }

    /// Run by the unit tests, like ts-rs's exports: the lint then finds a
    /// stale committed copy.
    #[test]
    fn export_bindings_ipc() {
        if let Ok(dir) = std::env::var("TS_RS_EXPORT_DIR") {
            export(Path::new(&dir)).unwrap();
        }
    }
}
