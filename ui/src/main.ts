import { startAudio } from "./audio";
import { startCall } from "./call";
import { startCheck } from "./check";
import { startLinks } from "./links";
import { startPushToTalk } from "./pushToTalk";
import { startReport } from "./report";
import { startStats } from "./stats";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
void startCheck();
void startLinks();
void startPushToTalk();
startReport();
void startStats();
void startUpdateNotice();
