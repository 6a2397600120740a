import { startAudio } from "./audio";
import { startCall } from "./call";
import { startReport } from "./report";
import { startStats } from "./stats";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
startReport();
void startStats();
void startUpdateNotice();
