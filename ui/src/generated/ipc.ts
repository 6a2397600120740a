// Generated from Rust (crates/desktop/src/ipc.rs) by its unit tests: do not edit.
// Every command and event between the window and Rust, by name, with typed wrappers.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AudioView } from "./AudioView";
import type { CallView } from "./CallView";
import type { CameraInfo } from "./CameraInfo";
import type { CheckView } from "./CheckView";
import type { JoinError } from "./JoinError";
import type { JoinRequest } from "./JoinRequest";
import type { LanguageView } from "./LanguageView";
import type { LinkView } from "./LinkView";
import type { MicActivity } from "./MicActivity";
import type { Placement } from "./Placement";
import type { ProfileDraft } from "./ProfileDraft";
import type { ProfileError } from "./ProfileError";
import type { ProfileInfo } from "./ProfileInfo";
import type { ProfilesView } from "./ProfilesView";
import type { PushToTalkView } from "./PushToTalkView";
import type { Sentence } from "./Sentence";
import type { ShareTarget } from "./ShareTarget";
import type { Shareable } from "./Shareable";
import type { Stages } from "./Stages";
import type { StatsView } from "./StatsView";
import type { TileSize } from "./TileSize";
import type { UpdateView } from "./UpdateView";

/** Command names, as Rust registers them. */
export const commands = {
  callView: "call_view",
  join: "join",
  leave: "leave",
  setMuted: "set_muted",
  showVideo: "show_video",
  placeVideos: "place_videos",
  videosPainted: "videos_painted",
  shareables: "shareables",
  cameras: "cameras",
  showCamera: "show_camera",
  shareScreen: "share_screen",
  videoSocket: "video_socket",
  retryNow: "retry_now",
  checkView: "check_view",
  runCheck: "run_check",
  saveCallReport: "save_call_report",
  audioView: "audio_view",
  chooseDevices: "choose_devices",
  setAudioStages: "set_audio_stages",
  languageView: "language_view",
  chooseLanguage: "choose_language",
  takeLink: "take_link",
  pushToTalkView: "push_to_talk_view",
  setPushToTalkKey: "set_push_to_talk_key",
  setMiniView: "set_mini_view",
  profiles: "profiles",
  saveProfile: "save_profile",
  deleteProfile: "delete_profile",
  selectProfile: "select_profile",
  updateStatus: "update_status",
  updateCheck: "update_check",
  updateApply: "update_apply",
} as const;

/** Event names, as Rust emits them. */
export const events = {
  callView: "call-view",
  updateStatus: "update-status",
  audioView: "audio-view",
  micActivity: "mic-activity",
  callStats: "call-stats",
  checkView: "check-view",
  link: "link",
  pushToTalkView: "push-to-talk-view",
  videoShown: "video-shown",
} as const;

/** The name our own camera's preview is asked for by, as a track's is. */
export const PREVIEW = "preview";

/** What each command's promise rejects with, where it can. */
export interface Refusals {
  join: JoinError;
  shareables: Sentence;
  cameras: Sentence;
  showCamera: Sentence;
  shareScreen: Sentence;
  saveCallReport: Sentence;
  chooseDevices: Sentence;
  setAudioStages: Sentence;
  chooseLanguage: Sentence;
  setPushToTalkKey: Sentence;
  setMiniView: Sentence;
  saveProfile: ProfileError;
  deleteProfile: ProfileError;
  selectProfile: ProfileError;
  updateApply: Sentence;
}

/** The call's view now (the page has just loaded). */
export function callView(): Promise<CallView> {
  return invoke<CallView>(commands.callView);
}

/** Joins a room (leaving the current call). The view comes as `call-view` events. Rejects with `Refusals["join"]`. */
export function join(request: JoinRequest): Promise<void> {
  return invoke<void>(commands.join, { request });
}

/** Leaves the call. */
export function leave(): Promise<void> {
  return invoke<void>(commands.leave);
}

/** Mutes or unmutes; the view says so once the server confirms. */
export function setMuted(muted: boolean): Promise<void> {
  return invoke<void>(commands.setMuted, { muted });
}

/** How large a remote video (by track sid) is drawn, in device pixels, or null when it is not on screen: the server sends what fits. */
export function showVideo(trackSid: string, size: TileSize | null): Promise<void> {
  return invoke<void>(commands.showVideo, { trackSid, size });
}

/** Where every tile's picture is in the window (device pixels), for the window to draw them over the page; true if it does, false if the page draws them. */
export function placeVideos(placements: Array<Placement>): Promise<boolean> {
  return invoke<boolean>(commands.placeVideos, { placements });
}

/** Pictures the window has painted over the page so far, all tiles. */
export function videosPainted(): Promise<bigint> {
  return invoke<bigint>(commands.videosPainted);
}

/** What can be shared now: the whole screen first, each monitor where there are several, then other applications' windows. Refused with the reason, a sentence. Rejects with `Refusals["shareables"]`. */
export function shareables(): Promise<Array<Shareable>> {
  return invoke<Array<Shareable>>(commands.shareables);
}

/** The cameras there are now, by name. Refused with the reason, a sentence. Rejects with `Refusals["cameras"]`. */
export function cameras(): Promise<Array<CameraInfo>> {
  return invoke<Array<CameraInfo>>(commands.cameras);
}

/** Shows a camera to the call (instead of the one shown), or stops it (null: muted, the camera let go); the view's `camera` and `cameraMuted` say so once done. Refused with the reason, a sentence. Rejects with `Refusals["showCamera"]`. */
export function showCamera(id: string | null): Promise<void> {
  return invoke<void>(commands.showCamera, { id });
}

/** Shares the screen, a monitor or a window into the call (instead of what is shared), or stops (null); the view's `sharing` says so once done. Refused with the reason, a sentence. Rejects with `Refusals["shareScreen"]`. */
export function shareScreen(target: ShareTarget | null): Promise<void> {
  return invoke<void>(commands.shareScreen, { target });
}

/** Where the page takes remote video from (`ws://…/TOKEN`; a track's sid after a slash), or null when there is none. */
export function videoSocket(): Promise<string | null> {
  return invoke<string | null>(commands.videoSocket);
}

/** The waiting reconnect attempt starts now. */
export function retryNow(): Promise<void> {
  return invoke<void>(commands.retryNow);
}

/** The pre-call check as it stands (the page has just loaded). */
export function checkView(): Promise<CheckView> {
  return invoke<CheckView>(commands.checkView);
}

/** Runs the pre-call check for what the join form holds (lines come as `check-view` events); answers the finished check. */
export function runCheck(request: JoinRequest): Promise<CheckView> {
  return invoke<CheckView>(commands.runCheck, { request });
}

/** Saves the current or last call's report (summary and timeline, no secrets) in the Downloads folder; answers the file's path. Rejects with `Refusals["saveCallReport"]`. */
export function saveCallReport(): Promise<string> {
  return invoke<string>(commands.saveCallReport);
}

/** Devices, the choice, what is in use, processing (then `audio-view` events). */
export function audioView(): Promise<AudioView> {
  return invoke<AudioView>(commands.audioView);
}

/** Chooses devices, kept for next time; in a call they switch at once. Rejects with `Refusals["chooseDevices"]`. */
export function chooseDevices(input: string | null, output: string | null): Promise<void> {
  return invoke<void>(commands.chooseDevices, { input, output });
}

/** Switches echo cancellation, noise suppression and gain control, at once and for next time. Rejects with `Refusals["setAudioStages"]`. */
export function setAudioStages(stages: Stages): Promise<void> {
  return invoke<void>(commands.setAudioStages, { stages });
}

/** The language the app speaks, and the person's choice. */
export function languageView(): Promise<LanguageView> {
  return invoke<LanguageView>(commands.languageView);
}

/** Speaks `code` ("de"; null: the system's) in the page, the tray and notifications, kept for next time. Refused for a language without words. Rejects with `Refusals["chooseLanguage"]`. */
export function chooseLanguage(code: string | null): Promise<LanguageView> {
  return invoke<LanguageView>(commands.chooseLanguage, { code });
}

/** A meeting link that came before the page could take it (then `link` events). */
export function takeLink(): Promise<LinkView | null> {
  return invoke<LinkView | null>(commands.takeLink);
}

/** The push-to-talk key, and why it does not work if it does not. */
export function pushToTalkView(): Promise<PushToTalkView> {
  return invoke<PushToTalkView>(commands.pushToTalkView);
}

/** Takes a key ("F9", "Ctrl+Space") system-wide for push-to-talk, kept for next time; null turns it off. Refused, with the reason, when it is not a key or another application has it. Rejects with `Refusals["setPushToTalkKey"]`. */
export function setPushToTalkKey(key: string | null): Promise<PushToTalkView> {
  return invoke<PushToTalkView>(commands.setPushToTalkKey, { key });
}

/** Shows the mini view (a small window above the others) or the full view again, where and as large as it was. Refused, with why, when the window cannot be changed. Rejects with `Refusals["setMiniView"]`. */
export function setMiniView(on: boolean): Promise<void> {
  return invoke<void>(commands.setMiniView, { on });
}

/** The server profiles and the chosen one. */
export function profiles(): Promise<ProfilesView> {
  return invoke<ProfilesView>(commands.profiles);
}

/** Saves a new or edited profile (its secret to the keychain). Rejects with `Refusals["saveProfile"]`. */
export function saveProfile(draft: ProfileDraft): Promise<ProfileInfo> {
  return invoke<ProfileInfo>(commands.saveProfile, { draft });
}

/** Deletes a profile and its secret. Rejects with `Refusals["deleteProfile"]`. */
export function deleteProfile(id: string): Promise<void> {
  return invoke<void>(commands.deleteProfile, { id });
}

/** Chooses the profile the join form starts with. Rejects with `Refusals["selectProfile"]`. */
export function selectProfile(id: string): Promise<void> {
  return invoke<void>(commands.selectProfile, { id });
}

/** The updater's status now. */
export function updateStatus(): Promise<UpdateView> {
  return invoke<UpdateView>(commands.updateStatus);
}

/** Looks for an update now. */
export function updateCheck(): Promise<void> {
  return invoke<void>(commands.updateCheck);
}

/** Installs the downloaded update and restarts; refused during a call. Rejects with `Refusals["updateApply"]`. */
export function updateApply(): Promise<void> {
  return invoke<void>(commands.updateApply);
}

/** The call's view, whole, on every change. */
export function onCallView(handle: (payload: CallView) => void): Promise<UnlistenFn> {
  return listen<CallView>(events.callView, (e) => handle(e.payload));
}

/** The updater's status, on every change. */
export function onUpdateStatus(handle: (payload: UpdateView) => void): Promise<UnlistenFn> {
  return listen<UpdateView>(events.updateStatus, (e) => handle(e.payload));
}

/** Devices, the choice, what is in use, processing: on every change. */
export function onAudioView(handle: (payload: AudioView) => void): Promise<UnlistenFn> {
  return listen<AudioView>(events.audioView, (e) => handle(e.payload));
}

/** The microphone's level, ten times a second. */
export function onMicActivity(handle: (payload: MicActivity) => void): Promise<UnlistenFn> {
  return listen<MicActivity>(events.micActivity, (e) => handle(e.payload));
}

/** The call's statistics, once a second during a call. */
export function onCallStats(handle: (payload: StatsView) => void): Promise<UnlistenFn> {
  return listen<StatsView>(events.callStats, (e) => handle(e.payload));
}

/** The pre-call check, as each line is found. */
export function onCheckView(handle: (payload: CheckView) => void): Promise<UnlistenFn> {
  return listen<CheckView>(events.checkView, (e) => handle(e.payload));
}

/** A meeting link was opened: what to do with it. */
export function onLink(handle: (payload: LinkView) => void): Promise<UnlistenFn> {
  return listen<LinkView>(events.link, (e) => handle(e.payload));
}

/** Push-to-talk's key, when it changes outside a command (the desktop bound it, or the person picked another in the desktop's settings). */
export function onPushToTalkView(handle: (payload: PushToTalkView) => void): Promise<UnlistenFn> {
  return listen<PushToTalkView>(events.pushToTalkView, (e) => handle(e.payload));
}

/** A tile the window draws has its first picture (the track's sid): the page shows the tile as live from then on. */
export function onVideoShown(handle: (payload: string) => void): Promise<UnlistenFn> {
  return listen<string>(events.videoShown, (e) => handle(e.payload));
}
