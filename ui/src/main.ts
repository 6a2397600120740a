import { startAudio } from "./audio";
import { startCall } from "./call";
import { startUpdateNotice } from "./update";

void startAudio();
void startCall();
void startUpdateNotice();
