import { startAudio } from "./audio";
import { startCall } from "./call";
import { startCheck } from "./check";
import { startLanguage } from "./i18n";
import { startLinks } from "./links";
import { startPushToTalk } from "./pushToTalk";
import { startReport } from "./report";
import { startStats } from "./stats";
import { startUpdateNotice } from "./update";

async function main(): Promise<void> {
  // The words first: every module draws in the page's language.
  await startLanguage();
  void startAudio();
  void startCall();
  void startCheck();
  void startLinks();
  void startPushToTalk();
  startReport();
  void startStats();
  void startUpdateNotice();
}

void main();
