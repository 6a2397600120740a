import { startAudio } from "./audio";
import { startCall } from "./call";
import { startReport } from "./report";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
startReport();
void startUpdateNotice();
