"""A foreign peer for RTCstack's tests and demo, on LiveKit's own engine.

It joins a room with the PyPI `livekit` SDK (libwebrtc underneath), publishes a
sine tone, subscribes to everyone else and reports what it sees on stdout as
JSON lines: participants, connection quality, mute state, connection state, and
the dominant frequency and level of every audio track it receives.

The URL comes from --url; the token from the LK_TOKEN environment variable so
it never shows in a process list. Commands arrive on stdin, one JSON object a
line: {"cmd": "mute"}, {"cmd": "unmute"}, {"cmd": "tone", "hz": 660},
{"cmd": "watch", "hz": 660, "identity": "far"} (report the first 20 ms frame
after it that carries 660 Hz above -40 dBFS, from that identity or any),
{"cmd": "simulate", "scenario": "SIMULATE_SIGNAL_RECONNECT"},
{"cmd": "speech", "path": "far.wav"} (publish that 48 kHz mono 16-bit WAV in a
loop instead of the tone; {"cmd": "tone", ...} switches back, hz 0 is silence),
{"cmd": "record", "identity": "app", "seconds": 4, "path": "got.wav"} (write the
next seconds received from that identity to a WAV, then report "recorded"),
{"cmd": "video", "codec": "vp8", "width": 640, "height": 360, "fps": 30}
    (optional: "preset", "simulcast", "screen", "metadata": frame metadata
    in LiveKit's packet trailer)
(publish the test pattern as a camera: see `pattern`; "h264" for H.264;
{"cmd": "video_quality", "identity": "x", "quality": "low"} picks the layer
received of x's video; {"cmd": "video_probe", "identity": "x", "points":
[[0.5, 0.5]]} reports the colours at those points of x's next frame;
"preset": true for the SDK's own encoding and smaller simulcast layers,
"simulcast": false for one layer only; {"cmd": "video_sent"} reports when
each frame published so far was handed to the SDK (wall clock, seconds, by
frame number); {"cmd": "video_log_start"} then {"cmd": "video_log"} reports
every video frame received between the two: sender, frame number, wall-clock
time; {"cmd": "video_stop"} unpublishes it),
{"cmd": "audio_received", "identity": "x"} (libwebrtc's counters of x's voice
here: samples, concealed samples, packets received and lost),
{"cmd": "disconnect"} (leave the room, keep running), {"cmd": "rejoin"} (leave
if in a room, then join again in this same process: the benchmarks' warm
joins), {"cmd": "leave"} (leave and exit).

--analysis none consumes received audio without analysing it (the CPU
benchmark, where our client does no analysis either).
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
import wave

import numpy as np
from livekit import rtc
from livekit.rtc._proto import track_pb2, video_frame_pb2
from livekit.rtc._proto.room_pb2 import SimulateScenarioKind

SAMPLE_RATE = 48000
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms
ANALYSIS_SAMPLES = SAMPLE_RATE  # 1 s window: 1 Hz bins before interpolation
# The benchmarks' unit of "audio heard": 20 ms frames counted from the
# stream's start, each judged by the level of one tone in it (the Rust side,
# tests/src/tone_watch.rs, does exactly the same on our client's frames). The
# tone must also be most of the frame (within 10 dB of its whole level): a
# click or a concealed fade-out has a little of every frequency in it.
TONE_FRAME_SAMPLES = SAMPLE_RATE // 50
TONE_HEARD_DB = -40.0
TONE_SHARE_DB = 10.0


def emit(event: str, **fields: object) -> None:
    """One JSON line per event, with a monotonic timestamp for latency maths."""
    fields["event"] = event
    fields["t"] = time.monotonic()
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


# The video test pattern, the same definition as tests/src/pattern.rs reads
# back: the top half four colour blocks side by side, the bottom half the
# frame number's 16 bits (most significant first) as black or white cells.
PATTERN_COLOURS = ((220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 210, 40))
PATTERN_BITS = 16
PATTERN_ON, PATTERN_OFF = 240, 16


def pattern_frame(width: int, height: int, number: int, top: np.ndarray) -> np.ndarray:
    """RGBA pixels of frame `number`; `top` is the colour half, made once."""
    bits = np.array(
        [(number >> (PATTERN_BITS - 1 - i)) & 1 for i in range(PATTERN_BITS)], dtype=np.uint8
    )
    cells = np.where(bits == 1, PATTERN_ON, PATTERN_OFF).astype(np.uint8)
    row = np.repeat(cells, -(-width // PATTERN_BITS))[:width]
    bottom = np.empty((height - height // 2, width, 4), dtype=np.uint8)
    bottom[:, :, 0:3] = row[None, :, None]
    bottom[:, :, 3] = 255
    return np.concatenate([top, bottom])


def read_pattern(rgba: np.ndarray) -> tuple[int, int]:
    """The frame number a received picture shows, and how far (the worst
    channel) its blocks are from the pattern's colours; as tests/src/pattern.rs
    reads our own decoded frames."""
    h, w = rgba.shape[0], rgba.shape[1]

    def at(x: int, y: int) -> np.ndarray:
        x0, y0 = max(x - 2, 0), max(y - 2, 0)
        return rgba[y0 : y0 + 5, x0 : x0 + 5, 0:3].reshape(-1, 3).mean(axis=0)

    worst = 0
    for i, colour in enumerate(PATTERN_COLOURS):
        got = at((2 * i + 1) * w // 8, h // 4)
        worst = max(worst, int(np.max(np.abs(got - np.array(colour)))))
    number = 0
    for bit in range(PATTERN_BITS):
        on = at((2 * bit + 1) * w // (2 * PATTERN_BITS), 3 * h // 4).mean() > 128
        number = number << 1 | int(on)
    return number, worst


def pattern_top(width: int, height: int) -> np.ndarray:
    top = np.empty((height // 2, width, 4), dtype=np.uint8)
    top[:, :, 3] = 255
    block = -(-width // len(PATTERN_COLOURS))
    for i, colour in enumerate(PATTERN_COLOURS):
        top[:, i * block : (i + 1) * block, 0:3] = colour
    return top


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


def carries_tone(frame: np.ndarray, hz: float) -> float | None:
    """The tone's level if `frame` carries it (see TONE_SHARE_DB), else None."""
    level = tone_level_db(frame, hz)
    x = frame.astype(np.float64) / 32768.0
    rms = math.sqrt(float(np.mean(x * x)))
    whole = 20.0 * math.log10(rms) if rms > 1e-6 else -120.0
    return level if level > TONE_HEARD_DB and level > whole - TONE_SHARE_DB else None


def tone_level_db(samples: np.ndarray, hz: float) -> float:
    """RMS level (dBFS) of the `hz` component of a block: a Hann-windowed
    DFT evaluated at exactly `hz`, scaled by the window's sum so a sine of
    amplitude A reads A/sqrt(2). Other tones 200 Hz away leak below -60 dB."""
    n = samples.size
    if n < 2:
        return -120.0
    x = samples.astype(np.float64) / 32768.0
    k = np.arange(n)
    w = 0.5 - 0.5 * np.cos(2 * math.pi * k / (n - 1))
    s = np.sum(w * x * np.exp(-2j * math.pi * hz * k / SAMPLE_RATE))
    rms = 2.0 * abs(s) / float(np.sum(w)) / math.sqrt(2.0)
    return 20.0 * math.log10(rms) if rms > 1e-6 else -120.0


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # Room and AudioSource bind to the running event loop: made in run().
        self.room: rtc.Room
        self.source: rtc.AudioSource
        self.track: rtc.LocalAudioTrack | None = None
        self.hz = float(args.tone)
        # A recording played in a loop instead of the tone, and where in it.
        self.speech: np.ndarray | None = None
        self.speech_pos = 0
        # Received audio being written to WAV files: identity -> (samples
        # still wanted, samples so far, path).
        self.recordings: dict[str, tuple[int, list[np.ndarray], str]] = {}
        self.muted = False
        # Tones to report the first hearing of, with the identity to hear
        # them from ("" for anyone): a bench marks "new audio after an
        # outage" by switching the far peer's tone, and times a join to the
        # first frame of the talker's.
        self.watch: dict[float, str] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        # The receive analysers of the current room (ended on leaving it).
        self.analysers: set[asyncio.Task[None]] = set()
        self.tone_task: asyncio.Task[None] | None = None
        # Points to read the colour of in the next video frame received
        # from an identity (fractions of its width and height).
        self.probes: dict[str, list[tuple[float, float]]] = {}
        # The published test pattern: its track and the task feeding it.
        self.video: tuple[rtc.LocalVideoTrack, asyncio.Task[None]] | None = None
        # When each published frame went to the SDK (wall clock, by number).
        self.sent_at: list[float] = []
        # Frames received while logging: [identity, number, wall clock].
        self.frame_log: list[list[object]] | None = None
        # Set while we leave a room on purpose and stay running.
        self.leaving_room = False
        self.done = asyncio.Event()

    def spawn(self, coro) -> asyncio.Task[None]:  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.finished)
        return task

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
                task = self.spawn(self.analyse(track, p.identity, pub.sid))
                self.analysers.add(task)
                task.add_done_callback(self.analysers.discard)
            elif track.kind == rtc.TrackKind.KIND_VIDEO:
                task = self.spawn(self.watch_video(track, p.identity, pub.sid))
                self.analysers.add(task)
                task.add_done_callback(self.analysers.discard)

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
            if not self.leaving_room:
                self.done.set()

    async def run(self) -> None:
        self.source = rtc.AudioSource(SAMPLE_RATE, 1)
        if not os.environ.get("LK_TOKEN", ""):
            emit("error", message="LK_TOKEN is not set")
            return
        if not await self.join():
            return
        self.spawn(self.read_commands())
        await self.done.wait()
        for task in list(self.tasks):
            task.cancel()

    async def join(self) -> bool:
        """Joins the room (a new Room each time; the process, and LiveKit's
        engine in it, stay warm across rejoins) and publishes the tone."""
        self.room = rtc.Room()
        self.wire_events()
        token = os.environ.get("LK_TOKEN", "")
        t0 = time.monotonic()
        try:
            await self.room.connect(
                self.args.url, token, options=rtc.RoomOptions(auto_subscribe=True)
            )
        except Exception as err:  # the SDK raises plain exceptions on join failure
            emit("error", message=f"connect failed: {err}")
            return False
        join_seconds = time.monotonic() - t0
        me = self.room.local_participant
        emit(
            "joined",
            identity=me.identity,
            room=self.room.name,
            # t0: when connect() was called; join_seconds: until it returned.
            t0=t0,
            join_seconds=join_seconds,
            sdk=rtc.__version__,
            participants=[p.identity for p in self.room.remote_participants.values()],
        )
        if self.hz > 0:
            self.track = rtc.LocalAudioTrack.create_audio_track("tone", self.source)
            # The source must be fed before publishing: publish waits for audio.
            if self.tone_task is None:
                self.tone_task = self.spawn(self.play_tone())
            opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            pub = await me.publish_track(self.track, opts)
            emit("published", track_sid=pub.sid, hz=self.hz)
        return True

    async def leave_room(self) -> None:
        """Leaves the room and stops its analysers; the process stays."""
        self.leaving_room = True
        try:
            await self.room.disconnect()
        finally:
            self.leaving_room = False
        for task in list(self.analysers):
            task.cancel()
        emit("left_room")

    async def play_tone(self) -> None:
        """A sine at self.hz, 10 ms frames paced against the monotonic clock."""
        phase = 0.0
        frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
        out = np.frombuffer(frame.data, dtype=np.int16)
        n = np.arange(FRAME_SAMPLES)
        next_at = time.monotonic()
        while True:
            if self.speech is not None and self.speech.size >= FRAME_SAMPLES:
                end = self.speech_pos + FRAME_SAMPLES
                if end > self.speech.size:
                    self.speech_pos, end = 0, FRAME_SAMPLES
                out[:] = self.speech[self.speech_pos : end]
                self.speech_pos = end
            elif self.hz == 0:
                # Silence: a sine held at its last phase would be a constant,
                # which levels read as loud.
                out[:] = 0
            else:
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

    async def publish_video(
        self,
        codec: str,
        width: int,
        height: int,
        fps: float,
        preset: bool,
        simulcast: bool,
        screen: bool = False,
        metadata: bool = False,
    ) -> None:
        """Publishes the test pattern as a camera (as a shared screen with
        `screen`), `fps` frames a second against the monotonic clock,
        numbered from 0. `preset`: the SDK's own
        encoding and simulcast layers (smaller ones below the full size);
        otherwise every layer at the full size and frame rate. `metadata`:
        each frame carries a user timestamp and its number as frame
        metadata (LiveKit's packet trailer, after each frame's payload)."""
        await self.stop_video()
        source = rtc.VideoSource(width, height)
        track = rtc.LocalVideoTrack.create_video_track("pattern", source)
        top = pattern_top(width, height)

        self.sent_at = []

        async def feed() -> None:
            number, next_at = 0, time.monotonic()
            while True:
                pixels = pattern_frame(width, height, number, top)
                frame = rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, pixels.tobytes())
                self.sent_at.append(time.time())
                if metadata:
                    source.capture_frame(
                        frame,
                        metadata=video_frame_pb2.FrameMetadata(
                            user_timestamp=int(time.time() * 1e6), frame_id=number
                        ),
                    )
                else:
                    source.capture_frame(frame)
                number += 1
                next_at += 1.0 / fps
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.5:
                    next_at = time.monotonic()

        task = self.spawn(feed())
        opts = rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_SCREENSHARE if screen else rtc.TrackSource.SOURCE_CAMERA,
            video_codec=rtc.VideoCodec.Value(codec.upper()),
            simulcast=simulcast,
        )
        if metadata:
            opts.frame_metadata_features.extend(
                [track_pb2.FMF_USER_TIMESTAMP, track_pb2.FMF_FRAME_ID]
            )
        if not preset:
            # The whole frame rate at a bitrate that holds the pattern
            # (the SDK's preset caps 360p below 30 fps).
            opts.video_encoding.CopyFrom(
                rtc.VideoEncoding(max_framerate=fps, max_bitrate=1_200_000)
            )
        pub = await self.room.local_participant.publish_track(track, opts)
        self.video = (track, task)
        emit("video_published", track_sid=pub.sid, codec=codec, width=width, height=height)

    async def stop_video(self) -> None:
        if self.video is None:
            return
        track, task = self.video
        self.video = None
        task.cancel()
        await self.room.local_participant.unpublish_track(track.sid)
        emit("video_stopped")

    async def watch_video(self, track: rtc.Track, identity: str, sid: str) -> None:
        """Reads each received video frame's pattern; once a second reports
        the second's frames: how many, their size, the first and last frame
        numbers, numbers skipped or going back (apart from a picture seen
        again as the server switches layers), and frames off the pattern's
        colours (within 40 per channel)."""
        stream = rtc.VideoStream(track, format=rtc.VideoBufferType.RGBA)
        window: list[tuple[int, int, int, int]] = []  # number, worst, w, h
        start = time.monotonic()
        last_number: int | None = None
        last_size = (0, 0)
        async for event in stream:
            frame = event.frame
            rgba = np.frombuffer(frame.data, dtype=np.uint8).reshape(frame.height, frame.width, 4)
            number, worst = read_pattern(rgba)
            if self.frame_log is not None:
                self.frame_log.append([identity, number, time.time()])
            window.append((number, worst, frame.width, frame.height))
            points = self.probes.pop(identity, None)
            if points is not None:
                colours = []
                for fx, fy in points:
                    x = min(int(fx * frame.width), frame.width - 1)
                    y = min(int(fy * frame.height), frame.height - 1)
                    colours.append([int(c) for c in rgba[y, x, 0:3]])
                emit(
                    "video_probe",
                    identity=identity,
                    width=frame.width,
                    height=frame.height,
                    colours=colours,
                )
            now = time.monotonic()
            if now - start < 1.0:
                continue
            numbers = [n for n, _, _, _ in window]
            skipped = backwards = switched = 0
            for n, _, w, h in window:
                if last_number is not None:
                    if n == last_number and (w, h) != last_size:
                        # The server moved us to another layer at that
                        # layer's copy of the picture we last had.
                        switched += 1
                    elif n <= last_number:
                        backwards += 1
                    else:
                        skipped += n - last_number - 1
                last_number, last_size = n, (w, h)
            emit(
                "video_seen",
                identity=identity,
                track_sid=sid,
                frames=len(window),
                seconds=now - start,
                width=window[-1][2],
                height=window[-1][3],
                first=numbers[0],
                last=numbers[-1],
                skipped=skipped,
                backwards=backwards,
                again_at_switch=switched,
                off_colour=sum(1 for _, w, _, _ in window if w > 40),
                worst=max(w for _, w, _, _ in window),
            )
            window, start = [], now

    async def analyse(self, track: rtc.Track, identity: str, sid: str) -> None:
        """Report each received track's dominant frequency and level twice a
        second, and watched tones by 20 ms frame; or only consume the audio
        (--analysis none)."""
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        if self.args.analysis == "none":
            async for _ in stream:
                pass
            return
        window = np.zeros(0, dtype=np.int16)
        last = time.monotonic()
        first = True
        pending = np.zeros(0, dtype=np.int16)  # toward the next 20 ms frame
        async for ev in stream:
            data = np.frombuffer(ev.frame.data, dtype=np.int16)
            now = time.monotonic()
            if first:
                emit("first_audio", identity=identity, track_sid=sid)
                first = False
            self.record(identity, data)
            # 20 ms frames from the stream's start, stamped when complete.
            pending = np.concatenate((pending, data))
            while pending.size >= TONE_FRAME_SAMPLES:
                frame, pending = pending[:TONE_FRAME_SAMPLES], pending[TONE_FRAME_SAMPLES:]
                for hz, who in list(self.watch.items()):
                    if who and who != identity:
                        continue
                    level = carries_tone(frame, hz)
                    if level is not None:
                        emit("heard", identity=identity, track_sid=sid, hz=hz, level_db=round(level, 1))
                        self.watch.pop(hz, None)
            window = np.concatenate((window, data))[-ANALYSIS_SAMPLES:]
            if now - last >= 0.5 and window.size >= ANALYSIS_SAMPLES // 2:
                last = now
                hz, level = dominant_frequency(window)
                emit("audio", identity=identity, track_sid=sid, hz=round(hz, 2), level_db=round(level, 1))

    def record(self, identity: str, data: np.ndarray) -> None:
        """Adds received samples to a recording of `identity`, if one runs."""
        if identity not in self.recordings:
            return
        wanted, parts, path = self.recordings[identity]
        parts.append(data[:wanted].copy())
        wanted -= min(wanted, data.size)
        if wanted > 0:
            self.recordings[identity] = (wanted, parts, path)
            return
        del self.recordings[identity]
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(np.concatenate(parts).astype("<i2").tobytes())
        emit("recorded", identity=identity, path=path)

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

    async def audio_received(self, identity: str) -> None:
        """Reports libwebrtc's counters of `identity`'s voice as received here:
        samples played, those concealed (a lost packet's frame made up, where
        no in-band repair came with the next one), packets received and lost."""
        participant = self.room.remote_participants.get(identity)
        tracks = [] if participant is None else [
            p.track for p in participant.track_publications.values()
            if p.kind == rtc.TrackKind.KIND_AUDIO and p.track is not None
        ]
        if not tracks:
            raise ValueError(f"no voice of {identity} received")
        for stats in await tracks[0].get_stats():
            if stats.HasField("inbound_rtp"):
                inbound = stats.inbound_rtp
                emit(
                    "audio_received",
                    identity=identity,
                    samples=inbound.inbound.total_samples_received,
                    concealed=inbound.inbound.concealed_samples,
                    packets=inbound.received.packets_received,
                    lost=inbound.received.packets_lost,
                )
                return
        raise ValueError(f"no inbound counters of {identity}'s voice")

    async def handle(self, cmd: dict) -> None:  # type: ignore[type-arg]
        name = cmd.get("cmd")
        if name in ("mute", "unmute") and self.track is not None:
            (self.track.mute if name == "mute" else self.track.unmute)()
            emit(name + "d")
        elif name == "watch":
            self.watch[float(cmd["hz"])] = str(cmd.get("identity", ""))
            emit("watching", hz=float(cmd["hz"]))
        elif name == "tone":
            self.hz = float(cmd["hz"])
            self.speech = None
            emit("tone", hz=self.hz)
        elif name == "speech":
            with wave.open(str(cmd["path"]), "rb") as w:
                if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                    raise ValueError("speech must be 48 kHz mono 16-bit")
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            self.speech, self.speech_pos = pcm.astype(np.int16), 0
            emit("speech", path=str(cmd["path"]), seconds=pcm.size / SAMPLE_RATE)
        elif name == "record":
            samples = int(float(cmd["seconds"]) * SAMPLE_RATE)
            self.recordings[str(cmd["identity"])] = (samples, [], str(cmd["path"]))
            emit("recording", identity=str(cmd["identity"]))
        elif name == "simulate":
            await self.room.simulate_scenario(SimulateScenarioKind.Value(cmd["scenario"]))
            emit("simulated", scenario=cmd["scenario"])
        elif name == "video":
            await self.publish_video(
                str(cmd.get("codec", "vp8")),
                int(cmd.get("width", 640)),
                int(cmd.get("height", 360)),
                float(cmd.get("fps", 30)),
                bool(cmd.get("preset", False)),
                bool(cmd.get("simulcast", True)),
                bool(cmd.get("screen", False)),
                bool(cmd.get("metadata", False)),
            )
        elif name == "video_sent":
            emit("video_sent", times=self.sent_at)
        elif name == "audio_received":
            await self.audio_received(str(cmd["identity"]))
        elif name == "video_log_start":
            self.frame_log = []
            emit("video_logging")
        elif name == "video_log":
            log, self.frame_log = self.frame_log or [], None
            emit("video_log", frames=log)
        elif name == "video_stop":
            await self.stop_video()
        elif name in ("video_mute", "video_unmute") and self.video is not None:
            track = self.video[0]
            (track.mute if name == "video_mute" else track.unmute)()
            emit(name + "d")
        elif name == "video_probe":
            self.probes[str(cmd["identity"])] = [(float(x), float(y)) for x, y in cmd["points"]]
            emit("probing", identity=str(cmd["identity"]))
        elif name == "video_quality":
            # The simulcast layer to receive of that identity's video.
            quality = rtc.VideoQuality.Value("VIDEO_QUALITY_" + str(cmd["quality"]).upper())
            for p in self.room.remote_participants.values():
                if p.identity == cmd["identity"]:
                    for pub in p.track_publications.values():
                        if pub.kind == rtc.TrackKind.KIND_VIDEO:
                            pub.set_video_quality(quality)
            emit("video_quality", identity=cmd["identity"], quality=str(cmd["quality"]))
        elif name == "disconnect":
            await self.leave_room()
        elif name == "rejoin":
            if self.room.isconnected():
                await self.leave_room()
            await self.join()
        elif name == "leave":
            await self.room.disconnect()
            self.done.set()
        else:
            emit("error", message=f"unknown command {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="LiveKit server URL, ws://…")
    parser.add_argument("--tone", type=float, default=440.0, help="Hz; 0 publishes nothing")
    parser.add_argument(
        "--analysis",
        choices=["full", "none"],
        default="full",
        help="none: consume received audio without analysing it",
    )
    args = parser.parse_args()
    try:
        asyncio.run(Peer(args).run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
