import { startAudio } from "./audio";
import { startCall } from "./call";
import { startCheck } from "./check";
import { startReport } from "./report";
import { startStats } from "./stats";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
void startCheck();
startReport();
void startStats();
void startUpdateNotice();
