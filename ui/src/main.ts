import { startAudio } from "./audio";
import { startCall } from "./call";
import { startCheck } from "./check";
import { startPushToTalk } from "./pushToTalk";
import { startReport } from "./report";
import { startStats } from "./stats";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
void startCheck();
void startPushToTalk();
startReport();
void startStats();
void startUpdateNotice();
