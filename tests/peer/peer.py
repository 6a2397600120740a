"""A foreign peer for RTCstack's tests and demo, on LiveKit's own engine.

It joins a room with the PyPI `livekit` SDK (libwebrtc underneath), publishes a
sine tone, subscribes to everyone else and reports what it sees on stdout as
JSON lines: participants, connection quality, mute state, connection state, and
the dominant frequency and level of every audio track it receives.

The URL comes from --url; the token from the LK_TOKEN environment variable so
it never shows in a process list. Commands arrive on stdin, one JSON object a
line: {"cmd": "mute"}, {"cmd": "unmute"}, {"cmd": "tone", "hz": 660},
{"cmd": "watch", "hz": 660} (report the first 40 ms in which 660 Hz is heard),
{"cmd": "simulate", "scenario": "SIMULATE_SIGNAL_RECONNECT"}, {"cmd": "leave"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import threading
import time

import numpy as np
from livekit import rtc
from livekit.rtc._proto.room_pb2 import SimulateScenarioKind

SAMPLE_RATE = 48000
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms
ANALYSIS_SAMPLES = SAMPLE_RATE  # 1 s window: 1 Hz bins before interpolation


def emit(event: str, **fields: object) -> None:
    """One JSON line per event, with a monotonic timestamp for latency maths."""
    fields["event"] = event
    fields["t"] = time.monotonic()
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def dominant_frequency(samples: np.ndarray) -> tuple[float, float]:
    """Peak frequency (Hz, parabolic interpolation) and RMS level (dBFS)."""
    x = samples.astype(np.float64) / 32768.0
    rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
    level = 20.0 * math.log10(rms) if rms > 1e-9 else -180.0
    if x.size < 1024 or rms < 1e-6:
        return 0.0, level
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    shift = 0.0
    if 0 < k < spectrum.size - 1:
        a, b, c = spectrum[k - 1], spectrum[k], spectrum[k + 1]
        denom = a - 2 * b + c
        if denom != 0:
            shift = 0.5 * (a - c) / denom
    return (k + shift) * SAMPLE_RATE / x.size, level


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # Room and AudioSource bind to the running event loop: made in run().
        self.room: rtc.Room
        self.source: rtc.AudioSource
        self.track: rtc.LocalAudioTrack | None = None
        self.hz = float(args.tone)
        self.muted = False
        # Frequencies to report the first hearing of (a bench marks "new
        # audio after an outage" by switching the far peer's tone).
        self.watch: set[float] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.done = asyncio.Event()

    def spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.finished)

    def finished(self, task: asyncio.Task[None]) -> None:
        """Reports a task that died, so a broken peer is loud, not silent."""
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            emit("error", message=f"task failed: {task.exception()!r}")

    def wire_events(self) -> None:
        room = self.room

        @room.on("participant_connected")
        def _joined(p: rtc.RemoteParticipant) -> None:
            emit("participant_joined", identity=p.identity, name=p.name)

        @room.on("participant_disconnected")
        def _left(p: rtc.RemoteParticipant) -> None:
            emit("participant_left", identity=p.identity)

        @room.on("connection_quality_changed")
        def _quality(p: rtc.Participant, q: rtc.ConnectionQuality) -> None:
            # QUALITY_EXCELLENT -> EXCELLENT
            name = rtc.ConnectionQuality(q).name.removeprefix("QUALITY_")
            emit("quality", identity=p.identity, quality=name)

        @room.on("track_subscribed")
        def _subscribed(
            track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
        ) -> None:
            emit(
                "track_subscribed",
                identity=p.identity,
                track_sid=pub.sid,
                kind=track.kind,
                muted=pub.muted,
            )
            if track.kind == rtc.TrackKind.KIND_AUDIO:
                self.spawn(self.analyse(track, p.identity, pub.sid))

        @room.on("track_published")
        def _published(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
            emit("track_published", identity=p.identity, track_sid=pub.sid, muted=pub.muted)

        @room.on("track_unpublished")
        def _unpublished(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
            emit("track_unpublished", identity=p.identity, track_sid=pub.sid)

        @room.on("track_muted")
        def _muted(p: rtc.Participant, pub: rtc.TrackPublication) -> None:
            emit("track_muted", identity=p.identity, track_sid=pub.sid)

        @room.on("track_unmuted")
        def _unmuted(p: rtc.Participant, pub: rtc.TrackPublication) -> None:
            emit("track_unmuted", identity=p.identity, track_sid=pub.sid)

        @room.on("connection_state_changed")
        def _state(state: int) -> None:
            emit("connection_state", state=rtc.ConnectionState.Name(state))

        @room.on("reconnecting")
        def _reconnecting() -> None:
            emit("reconnecting")

        @room.on("reconnected")
        def _reconnected() -> None:
            emit("reconnected")

        @room.on("disconnected")
        def _disconnected(reason: int) -> None:
            emit("disconnected", reason=rtc.DisconnectReason.Name(reason))
            self.done.set()

    async def run(self) -> None:
        self.room = rtc.Room()
        self.source = rtc.AudioSource(SAMPLE_RATE, 1)
        self.wire_events()
        token = os.environ.get("LK_TOKEN", "")
        if not token:
            emit("error", message="LK_TOKEN is not set")
            return
        t0 = time.monotonic()
        try:
            await self.room.connect(
                self.args.url, token, options=rtc.RoomOptions(auto_subscribe=True)
            )
        except Exception as err:  # the SDK raises plain exceptions on join failure
            emit("error", message=f"connect failed: {err}")
            return
        me = self.room.local_participant
        emit(
            "joined",
            identity=me.identity,
            room=self.room.name,
            join_seconds=time.monotonic() - t0,
            participants=[p.identity for p in self.room.remote_participants.values()],
        )
        if self.hz > 0:
            self.track = rtc.LocalAudioTrack.create_audio_track("tone", self.source)
            # The source must be fed before publishing: publish waits for audio.
            self.spawn(self.play_tone())
            opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            pub = await me.publish_track(self.track, opts)
            emit("published", track_sid=pub.sid, hz=self.hz)
        self.spawn(self.read_commands())
        await self.done.wait()
        for task in list(self.tasks):
            task.cancel()

    async def play_tone(self) -> None:
        """A sine at self.hz, 10 ms frames paced against the monotonic clock."""
        phase = 0.0
        frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
        out = np.frombuffer(frame.data, dtype=np.int16)
        n = np.arange(FRAME_SAMPLES)
        next_at = time.monotonic()
        while True:
            step = 2 * math.pi * self.hz / SAMPLE_RATE
            out[:] = (0.3 * 32767 * np.sin(phase + step * n)).astype(np.int16)
            phase = (phase + step * FRAME_SAMPLES) % (2 * math.pi)
            await self.source.capture_frame(frame)
            next_at += 0.01
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.2:
                next_at = time.monotonic()  # fell far behind: do not burst

    async def analyse(self, track: rtc.Track, identity: str, sid: str) -> None:
        """Report each received track's dominant frequency and level twice a second."""
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        window = np.zeros(0, dtype=np.int16)
        last = time.monotonic()
        first = True
        recent = np.zeros(0, dtype=np.int16)  # the last 40 ms
        async for ev in stream:
            data = np.frombuffer(ev.frame.data, dtype=np.int16)
            now = time.monotonic()
            if first:
                emit("first_audio", identity=identity, track_sid=sid)
                first = False
            recent = np.concatenate((recent, data))[-1920:]
            if self.watch and recent.size == 1920:
                hz, level = dominant_frequency(recent)
                for w in list(self.watch):
                    if abs(hz - w) <= 25 and level > -30:
                        emit("heard", identity=identity, track_sid=sid, hz=w)
                        self.watch.discard(w)
            window = np.concatenate((window, data))[-ANALYSIS_SAMPLES:]
            if now - last >= 0.5 and window.size >= ANALYSIS_SAMPLES // 2:
                last = now
                hz, level = dominant_frequency(window)
                emit("audio", identity=identity, track_sid=sid, hz=round(hz, 2), level_db=round(level, 1))

    async def read_commands(self) -> None:
        """Reads command lines on a daemon thread: stdin may be a pipe, a tty
        or /dev/null, and a blocked read must not keep the process alive."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            line = await lines.get()
            try:
                await self.handle(json.loads(line))
            except Exception as err:  # a bad command must not kill the peer
                emit("error", message=f"command failed: {err}")

    async def handle(self, cmd: dict) -> None:  # type: ignore[type-arg]
        name = cmd.get("cmd")
        if name in ("mute", "unmute") and self.track is not None:
            (self.track.mute if name == "mute" else self.track.unmute)()
            emit(name + "d")
        elif name == "watch":
            self.watch.add(float(cmd["hz"]))
            emit("watching", hz=float(cmd["hz"]))
        elif name == "tone":
            self.hz = float(cmd["hz"])
            emit("tone", hz=self.hz)
        elif name == "simulate":
            await self.room.simulate_scenario(SimulateScenarioKind.Value(cmd["scenario"]))
            emit("simulated", scenario=cmd["scenario"])
        elif name == "leave":
            await self.room.disconnect()
            self.done.set()
        else:
            emit("error", message=f"unknown command {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="LiveKit server URL, ws://…")
    parser.add_argument("--tone", type=float, default=440.0, help="Hz; 0 publishes nothing")
    args = parser.parse_args()
    try:
        asyncio.run(Peer(args).run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
