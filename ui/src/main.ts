import { startCall } from "./call";
import { startUpdateNotice } from "./update";

void startCall();
void startUpdateNotice();
