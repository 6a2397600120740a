"""`scripts/bench audio`: our capture-path processing beside libwebrtc's,
on one recorded scenario, in one run.

- The scenario, made once per run (espeak-ng speech, seeded noise and
  room), 48 kHz mono, 45 s: the far end talks for ~20 s and again for
  ~10 s; the microphone hears its echo (80 ms later, through a small room,
  10 dB down) and, in places, the near end. Four segments:
    echo only      0-12 s  the far end alone (its echo at the microphone);
    double talk   12-20 s  the far end's echo and the near end at once;
    near + noise  20-33 s  no far end; stationary pink noise at -35 dBFS,
                           the near end talking in the middle;
    path change   33-45 s  the far end again, through another room (110 ms,
                           6 dB down, a loudspeaker that compresses its
                           peaks): how fast each re-learns the echo.
  Throughout, the microphone's own hiss at -60 dBFS: without any noise
  floor both modules gate the echo to digital silence and the echo measure
  has no ceiling (~90 dB); a loud floor would cap it instead, and measure
  noise suppression.
- Ours: tests/src/bin/bench-audio.rs (rtcstack's Processor, 20 ms calls).
- libwebrtc: livekit.rtc.AudioProcessingModule (LiveKit's Python SDK,
  libwebrtc's module), 10 ms frames, far end then microphone.
- Both with high-pass + echo cancellation + noise suppression, AGC off, for
  the levels (automatic gain would change them); CPU also with all stages.
- One analysis for both outputs (`analyze`).

CPU: the thread's CPU time around the processing calls only (both sides
read CLOCK_THREAD_CPUTIME_ID around each 20 ms of calls), per 10 ms of
audio; each pass a fresh module over the whole file after one uncounted
warm-up pass, passes alternating ours / libwebrtc, the configurations
interleaved in rounds; medians. libwebrtc's calls go through Python,
protobuf and the FFI: the same calls with every stage off measure that
floor (plus the module's own pass-through), and the "net" rows subtract
each round's floor from the same round's passes, on each side. The
audio-cpu line is the net EC+NS+HPF ratio.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

RATE = 48_000
CHUNK = RATE // 100  # 10 ms
SEED = 20260611
DELAY_MS = 80

FAR_TEXT = (
    "Good morning everyone, and thanks for joining the weekly planning call. "
    "Before we start, I want to go over the release schedule for next month, "
    "because a few of the dates have moved. The desktop build is now planned "
    "for the second week, and the mobile apps will follow a few days later. "
    "Please check the shared document and add your notes before Friday."
)
NEAR_TEXT_1 = (
    "Sorry to interrupt, but could you repeat the date for the desktop build? "
    "My calendar still shows the old one."
)
FAR_TEXT_2 = (
    "One more thing about the budget. The travel costs for the spring "
    "conference were higher than planned, so we will go through them "
    "together at the end of the month."
)
NEAR_TEXT_2 = (
    "Thanks, that helps. I will update the calendar and send a short summary "
    "to the whole team."
)

# Segment bounds, seconds.
ECHO_ONLY = (0.0, 12.0)
DOUBLE_TALK = (12.0, 20.0)
NEAR_NOISE = (20.0, 33.0)
PATH_CHANGE = (33.0, 45.0)
TOTAL_S = 45.0
FAR2_AT, FAR2_UNTIL = 33.5, 44.8
DELAY2_MS = 110
ECHO2_DB = -6.0
FAR_AT, FAR_UNTIL = 0.5, 19.8
NEAR1_AT, NEAR1_UNTIL = 12.3, 19.8
NEAR2_AT, NEAR2_UNTIL = 25.0, 29.5
# Steady state: the first seconds of far-end talk are left out of the echo
# measure, and of the noise out of the noise measure (noise suppression
# takes ~3 s to learn a new noise).
SETTLE_S = 2.0
NOISE_SETTLE_S = 3.0

FAR_DBFS = -20.0  # far-end speech as played, active level
ECHO_DB = -10.0  # echo at the microphone vs the far end
NEAR_DBFS = -24.0  # near-end speech at the microphone, active level
NOISE_DBFS = -35.0  # near-end noise, RMS
HISS_DBFS = -60.0  # the microphone's own noise floor, RMS, throughout

# Which stages each configuration switches on.
CONFIGS = {
    "ec+ns": dict(echo_cancellation=True, noise_suppression=True, auto_gain_control=False),
    "ec+ns+agc": dict(echo_cancellation=True, noise_suppression=True, auto_gain_control=True),
    "off": dict(echo_cancellation=False, noise_suppression=False, auto_gain_control=False),
}
OURS_STAGES = {"ec+ns": "ec,ns", "ec+ns+agc": "ec,ns,agc", "off": "off"}


# ---------------------------------------------------------------- scenario


def db(p: float) -> float:
    return 10.0 * np.log10(max(p, 1e-20))


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        ch = w.getnchannels()
        if ch > 1:
            x = x.reshape(-1, ch).mean(axis=1)
        return x / 32768.0, w.getframerate()


def write_wav(path: Path, x: np.ndarray) -> None:
    pcm = x if x.dtype == np.int16 else to_i16(x)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def to_i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling of a whole signal in the frequency domain
    (zero-padded so that the circular ends stay silent)."""
    pad = len(x) // 8 + src // 10
    xp = np.concatenate([x, np.zeros(pad)])
    n_out = int(round(len(xp) * dst / src))
    spec = np.fft.rfft(xp)
    out = np.zeros(n_out // 2 + 1, dtype=complex)
    k = min(len(spec), len(out))
    out[:k] = spec[:k]
    if dst > src and len(xp) % 2 == 0:
        out[k - 1] *= 0.5  # the source's Nyquist bin, split across both signs
    y = np.fft.irfft(out, n_out) * (n_out / len(xp))
    return y[: int(round(len(x) * dst / src))]


def speak(text: str, voice: str, tmp: Path) -> np.ndarray:
    path = tmp / f"tts-{voice}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    x, rate = read_wav(path)
    return resample(x, rate, RATE)


def frame_powers(x: np.ndarray) -> np.ndarray:
    n = len(x) // CHUNK
    return np.mean(x[: n * CHUNK].reshape(n, CHUNK) ** 2, axis=1)


def active(x: np.ndarray, below_peak_db: float = 30.0) -> np.ndarray:
    """10 ms frames in which a clean component is active: within
    `below_peak_db` of its loud frames (95th percentile)."""
    p = frame_powers(x)
    loud = np.percentile(p[p > 0], 95) if np.any(p > 0) else 0.0
    return p > loud * 10 ** (-below_peak_db / 10)


def set_active_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    p = frame_powers(x)
    level = np.mean(p[active(x)])
    return x * np.sqrt(10 ** (dbfs / 10) / level)


def place(x: np.ndarray, at: float, until: float, n: int) -> np.ndarray:
    """x starting at `at` s, cut at `until` s with a 20 ms fade."""
    out = np.zeros(n)
    a, b = int(at * RATE), int(until * RATE)
    seg = x[: b - a].copy()
    fade = int(0.02 * RATE)
    if len(seg) > fade:
        seg[-fade:] *= np.linspace(1.0, 0.0, fade)
    out[a : a + len(seg)] = seg
    return out


def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: len(x)]


def room(rng: np.random.Generator) -> np.ndarray:
    """Loudspeaker to microphone: the direct path, a few early reflections
    and a short diffuse tail (~50 ms), through a small speaker's band
    (one-pole high-pass ~150 Hz, low-pass ~5 kHz)."""
    n = int(0.06 * RATE)
    h = np.zeros(n)
    h[0] = 1.0
    for ms, g in [(2.7, 0.45), (5.1, -0.3), (8.9, 0.22), (13.4, -0.15)]:
        h[int(ms * RATE / 1000)] += g
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-t / 0.012) * 0.08
    tail[: int(0.002 * RATE)] = 0.0
    h += tail
    # low-pass, one pole at 5 kHz
    a = np.exp(-2 * np.pi * 5000 / RATE)
    lp = np.zeros(n)
    acc = 0.0
    for i in range(n):
        acc = (1 - a) * h[i] + a * acc
        lp[i] = acc
    # high-pass, one pole at 150 Hz
    b = np.exp(-2 * np.pi * 150 / RATE)
    hp = np.zeros(n)
    prev_x = prev_y = 0.0
    for i in range(n):
        prev_y = b * (prev_y + lp[i] - prev_x)
        prev_x = lp[i]
        hp[i] = prev_y
    return hp


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec *= 1 / np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x**2))


def make_scenario(tmp: Path) -> dict:
    rng = np.random.default_rng(SEED)
    n = int(TOTAL_S * RATE)
    n -= n % (2 * CHUNK)
    far = place(set_active_level(speak(FAR_TEXT, "en", tmp), FAR_DBFS), FAR_AT, FAR_UNTIL, n)
    h = room(rng)
    delay = DELAY_MS * RATE // 1000
    echo = np.concatenate([np.zeros(delay), fft_convolve(far, h)])[:n]
    echo = set_active_level(echo, FAR_DBFS + ECHO_DB)
    # The echo path changes: another room, nearer and louder, through a
    # loudspeaker that compresses its peaks.
    far2 = place(set_active_level(speak(FAR_TEXT_2, "en", tmp), FAR_DBFS), FAR2_AT, FAR2_UNTIL, n)
    far += far2
    drive = 2.5
    played = np.tanh(drive * far2) / drive
    delay2 = DELAY2_MS * RATE // 1000
    echo2 = np.concatenate([np.zeros(delay2), fft_convolve(played, room(rng))])[:n]
    echo += set_active_level(echo2, FAR_DBFS + ECHO2_DB)
    near1 = speak(NEAR_TEXT_1, "en-us+f3", tmp)
    near2 = speak(NEAR_TEXT_2, "en-us+f3", tmp)
    near = place(near1, NEAR1_AT, NEAR1_UNTIL, n) + place(near2, NEAR2_AT, NEAR2_UNTIL, n)
    near = set_active_level(near, NEAR_DBFS)
    noise = np.zeros(n)
    a, b = int(NEAR_NOISE[0] * RATE), int(NEAR_NOISE[1] * RATE)
    noise[a:b] = pink(rng, b - a) * 10 ** (NOISE_DBFS / 20)
    noise[a : a + CHUNK] *= np.linspace(0.0, 1.0, CHUNK)
    noise[b - CHUNK : b] *= np.linspace(1.0, 0.0, CHUNK)
    noise += pink(rng, n) * 10 ** (HISS_DBFS / 20)
    mic = echo + near + noise
    if np.max(np.abs(mic)) >= 1.0 or np.max(np.abs(far)) >= 1.0:
        raise SystemExit("scenario clips: lower its levels")
    sc = {
        "far": to_i16(far),
        "mic": to_i16(mic),
        "echo": echo,
        "near": near,
        "noise": noise,
    }
    for name in ("far", "mic"):
        write_wav(tmp / f"{name}.wav", sc[name])
    for name in ("echo", "near", "noise"):
        write_wav(tmp / f"{name}.wav", sc[name])
    return sc


# ---------------------------------------------------------------- analysis


def frames_in(span: tuple[float, float], n_frames: int) -> np.ndarray:
    idx = np.arange(n_frames) * CHUNK / RATE
    return (idx >= span[0]) & (idx < span[1])


def analyze(out: np.ndarray, sc: dict) -> dict:
    """One output (int16) against the scenario's clean components."""
    y = out.astype(np.float64) / 32768.0
    py = frame_powers(y)
    nf = len(py)
    echo, near, noise = sc["echo"], sc["near"], sc["noise"]
    pe, pn, pz = frame_powers(echo)[:nf], frame_powers(near)[:nf], frame_powers(noise)[:nf]
    far_on = active(echo)[:nf]
    near_on = active(near)[:nf]
    # Echo only, steady state: far-end activity after its first seconds.
    first = np.argmax(far_on) * CHUNK / RATE
    erle_span = (max(ECHO_ONLY[0], first + SETTLE_S), ECHO_ONLY[1])
    m = frames_in(erle_span, nf) & far_on & ~near_on
    erle = db(pe[m].sum()) - db(py[m].sum())
    # The output's floor in the same segment: the far end's pauses (its
    # echo silent for 100 ms either side). Residual echo over it: how far
    # the output rises above its own floor when the far end talks (0 dB:
    # no echo left above the noise; the ERLE above is capped by that floor).
    gap = int(0.1 * RATE / CHUNK)
    echo_near = np.convolve(far_on.astype(float), np.ones(2 * gap + 1), "same") > 0
    mf = frames_in(erle_span, nf) & ~echo_near & ~near_on
    floor = db(py[mf].mean()) if mf.any() else float("nan")
    over_floor = db(py[m].mean()) - floor
    # After the echo path changed: the first seconds of far-end talk
    # (re-learning), then the rest.
    first2 = (np.argmax(far_on & frames_in(PATH_CHANGE, nf)) * CHUNK / RATE)
    mc1 = frames_in((first2, first2 + SETTLE_S), nf) & far_on & ~near_on
    mc2 = frames_in((first2 + SETTLE_S, PATH_CHANGE[1]), nf) & far_on & ~near_on
    # Residual noise: noise-only frames of the last segment, after the
    # noise's first seconds, away from near-end speech (a 300 ms margin).
    margin = int(0.3 * RATE / CHUNK)
    near_near = np.convolve(near_on.astype(float), np.ones(2 * margin + 1), "same") > 0
    mz = frames_in((NEAR_NOISE[0] + NOISE_SETTLE_S, NEAR_NOISE[1]), nf) & ~near_near
    noise_in = db(pz[mz].mean())
    noise_out = db(py[mz].mean())
    # Near end: its level out vs in where it talks.
    md = frames_in(DOUBLE_TALK, nf) & near_on
    mn = frames_in(NEAR_NOISE, nf) & near_on
    return {
        "erle_db": erle,
        "echo_floor_dbfs": floor,
        "echo_over_floor_db": over_floor,
        "erle_change_db": db(pe[mc1].sum()) - db(py[mc1].sum()),
        "erle_changed_db": db(pe[mc2].sum()) - db(py[mc2].sum()),
        "noise_in_dbfs": noise_in,
        "noise_out_dbfs": noise_out,
        "noise_reduction_db": noise_in - noise_out,
        "near_dt_db": db(py[md].sum()) - db(pn[md].sum()),
        "near_noise_db": db(py[mn].sum()) - db(pn[mn].sum()),
        "frames": {"erle": int(m.sum()), "floor": int(mf.sum()), "noise": int(mz.sum()), "dt": int(md.sum())},
    }


# ---------------------------------------------------------------- runners


def thread_cpu_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_THREAD_CPUTIME_ID)


def libwebrtc_pass(far: np.ndarray, mic: np.ndarray, cfg: str) -> tuple[np.ndarray, float, float]:
    """One pass, a fresh module: output, CPU and wall µs per 10 ms."""
    from livekit import rtc

    st = CONFIGS[cfg]
    apm = rtc.AudioProcessingModule(
        echo_cancellation=st["echo_cancellation"],
        noise_suppression=st["noise_suppression"],
        high_pass_filter=cfg != "off",
        auto_gain_control=st["auto_gain_control"],
    )
    n = len(mic) // CHUNK
    n -= n % 2
    fr = [rtc.AudioFrame(far[i * CHUNK : (i + 1) * CHUNK].tobytes(), RATE, 1, CHUNK) for i in range(n)]
    mc = [
        rtc.AudioFrame(bytearray(mic[i * CHUNK : (i + 1) * CHUNK].tobytes()), RATE, 1, CHUNK)
        for i in range(n)
    ]
    cpu = wall = 0
    # Python's collector stays out of the timed calls.
    gc.collect()
    gc.disable()
    for i in range(0, n, 2):
        # 20 ms of calls per reading, as on our side.
        w0 = time.perf_counter_ns()
        c0 = thread_cpu_ns()
        for j in (i, i + 1):
            apm.process_reverse_stream(fr[j])
            apm.set_stream_delay_ms(DELAY_MS)
            apm.process_stream(mc[j])
        cpu += thread_cpu_ns() - c0
        wall += time.perf_counter_ns() - w0
    gc.enable()
    out = np.concatenate([np.frombuffer(f._data, dtype=np.int16) for f in mc])
    return out, cpu / 1e3 / n, wall / 1e3 / n


def ours_pass(binary: str, tmp: Path, cfg: str, out: Path | None) -> tuple[float, float]:
    cmd = [
        binary,
        "--far", str(tmp / "far.wav"),
        "--mic", str(tmp / "mic.wav"),
        "--stages", OURS_STAGES[cfg],
        "--delay-ms", str(DELAY_MS),
        "--warmup", "1",
        "--reps", "1",
    ]
    if out is not None:
        cmd += ["--out", str(out)]
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return j["cpu_us_per_10ms"][0], j["wall_us_per_10ms"][0]


# ---------------------------------------------------------------- report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", required=True, help="the bench-audio binary")
    ap.add_argument("--reps", type=int, default=9, help="counted passes per side and configuration")
    ap.add_argument("--keep", help="a folder to keep the scenario and both outputs in")
    args = ap.parse_args()

    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmpdir:
        tmp = Path(args.keep) if args.keep else Path(tmpdir)
        tmp.mkdir(parents=True, exist_ok=True)
        sc = make_scenario(tmp)
        far, mic = sc["far"], sc["mic"]
        print(f"scenario: {len(mic) / RATE:.0f} s in {tmp}", file=sys.stderr)

        cpu = {side: {cfg: [] for cfg in CONFIGS} for side in ("ours", "libwebrtc")}
        wall = {side: {cfg: [] for cfg in CONFIGS} for side in ("ours", "libwebrtc")}
        outs = {}
        # Configurations interleaved within each round, the two sides
        # alternating: a shared machine's load drifts, and each round's
        # floor ("off") is subtracted from the same round's runs.
        for rep in range(args.reps):
            for cfg in CONFIGS:
                keep = cfg == "ec+ns" and rep == 0
                c, w = ours_pass(args.ours, tmp, cfg, tmp / "out-ours.wav" if keep else None)
                cpu["ours"][cfg].append(c)
                wall["ours"][cfg].append(w)
                libwebrtc_pass(far, mic, cfg)  # warm-up, as on our side
                o, c, w = libwebrtc_pass(far, mic, cfg)
                cpu["libwebrtc"][cfg].append(c)
                wall["libwebrtc"][cfg].append(w)
                if keep:
                    outs["libwebrtc"] = o
                    write_wav(tmp / "out-libwebrtc.wav", o)
            print(
                f"  round {rep + 1}: CPU µs per 10 ms, ours / libwebrtc: "
                + ", ".join(f"{c} {cpu['ours'][c][-1]:.1f} / {cpu['libwebrtc'][c][-1]:.1f}" for c in CONFIGS),
                file=sys.stderr,
            )
        ours_out, _ = read_wav(tmp / "out-ours.wav")
        outs["ours"] = to_i16(ours_out)
        a_in = analyze(mic, sc)
        res = {side: analyze(outs[side], sc) for side in ("ours", "libwebrtc")}

    med = {s: {c: float(np.median(v)) for c, v in d.items()} for s, d in cpu.items()}
    wmed = {s: {c: float(np.median(v)) for c, v in d.items()} for s, d in wall.items()}
    net = {
        s: {
            c: float(np.median(np.array(cpu[s][c]) - np.array(cpu[s]["off"])))
            for c in ("ec+ns", "ec+ns+agc")
        }
        for s in cpu
    }

    o, l = res["ours"], res["libwebrtc"]
    print()
    print(
        f"audio bench: one {TOTAL_S:.0f} s recorded scenario (espeak-ng speech, seed {SEED}), 48 kHz mono: "
        f"echo only {ECHO_ONLY[0]:.0f}-{ECHO_ONLY[1]:.0f} s (echo {DELAY_MS} ms late, {ECHO_DB:.0f} dB, small room), "
        f"double talk {DOUBLE_TALK[0]:.0f}-{DOUBLE_TALK[1]:.0f} s, "
        f"near end + pink noise ({NOISE_DBFS:.0f} dBFS) {NEAR_NOISE[0]:.0f}-{NEAR_NOISE[1]:.0f} s, "
        f"echo path change {PATH_CHANGE[0]:.0f}-{PATH_CHANGE[1]:.0f} s ({DELAY2_MS} ms, {ECHO2_DB:.0f} dB, "
        f"compressing loudspeaker); mic hiss {HISS_DBFS:.0f} dBFS throughout"
    )
    print(
        "levels: high-pass + echo cancellation + noise suppression, AGC off; "
        f"CPU: thread CPU time of the processing calls, median of {args.reps} passes each "
        "(one warm-up pass before each; net: each round's floor subtracted)"
    )
    rows = []

    def row(name, a, b, better, unit=""):
        d = a - b
        if better == "higher":
            verdict = "ours better" if d > 0.5 else "ours worse" if d < -0.5 else "even"
        elif better == "lower":
            verdict = "ours better" if d < -0.5 else "ours worse" if d > 0.5 else "even"
        elif better == "zero":
            verdict = (
                "ours better" if abs(a) < abs(b) - 0.5 else "ours worse" if abs(a) > abs(b) + 0.5 else "even"
            )
        else:
            verdict = ""
        rows.append((name, f"{a:.1f}{unit}", f"{b:.1f}{unit}", f"{d:+.1f}{unit}", verdict))

    row("ERLE, echo only, steady (dB)", o["erle_db"], l["erle_db"], "higher")
    row("echo-only output floor, far-end pauses (dBFS)", o["echo_floor_dbfs"], l["echo_floor_dbfs"], "")
    row("residual echo over that floor (dB, 0 = none)", o["echo_over_floor_db"], l["echo_over_floor_db"], "lower")
    row(f"ERLE, new echo path, first {SETTLE_S:.0f} s (dB)", o["erle_change_db"], l["erle_change_db"], "higher")
    row("ERLE, new echo path, after (dB)", o["erle_changed_db"], l["erle_changed_db"], "higher")
    row(
        f"residual noise (dBFS; in {a_in['noise_in_dbfs']:.1f})",
        o["noise_out_dbfs"],
        l["noise_out_dbfs"],
        "lower",
    )
    row("noise reduction (dB)", o["noise_reduction_db"], l["noise_reduction_db"], "higher")
    row("near end in double talk, out-in (dB)", o["near_dt_db"], l["near_dt_db"], "zero")
    row("near end with noise, out-in (dB)", o["near_noise_db"], l["near_noise_db"], "zero")
    row("CPU µs/10 ms, EC+NS+HPF, as called", med["ours"]["ec+ns"], med["libwebrtc"]["ec+ns"], "lower")
    row("CPU µs/10 ms, all off: call floor", med["ours"]["off"], med["libwebrtc"]["off"], "")
    row("CPU µs/10 ms, EC+NS+HPF, net of floor", net["ours"]["ec+ns"], net["libwebrtc"]["ec+ns"], "lower")
    row("CPU µs/10 ms, all stages (+AGC), net", net["ours"]["ec+ns+agc"], net["libwebrtc"]["ec+ns+agc"], "lower")
    row("wall µs/10 ms, EC+NS+HPF, as called", wmed["ours"]["ec+ns"], wmed["libwebrtc"]["ec+ns"], "lower")
    w0 = max(len(r[0]) for r in rows)
    print(f"{'':<{w0}} {'ours':>9} {'libwebrtc':>10} {'difference':>11}")
    for name, a, b, d, v in rows:
        print(f"{name:<{w0}} {a:>9} {b:>10} {d:>11}  {v}")
    print(
        "ERLE: echo at the microphone / output, frames with far-end speech after its first "
        f"{SETTLE_S:.0f} s; near end: output level where the near end talks vs its clean level "
        "(0 = kept whole); floor: the same calls with every stage off (libwebrtc's: Python, "
        "protobuf, FFI); AGC: ours adapts (adaptive digital), LiveKit's switches on the "
        "module's fixed-gain controller"
    )
    nr_diff = o["noise_reduction_db"] - l["noise_reduction_db"]
    if abs(nr_diff) > 2.0 and max(o["echo_over_floor_db"], l["echo_over_floor_db"]) < 1.0:
        print(
            f"note: the noise suppressors differ by {nr_diff:+.1f} dB and both leave the echo below their own "
            "output floor (residual echo over floor <= 0): the steady ERLE here is that floor, so its "
            "difference measures noise suppression more than echo cancellation"
        )
    per_round = (np.array(cpu["ours"]["ec+ns"]) - np.array(cpu["ours"]["off"])) / (
        np.array(cpu["libwebrtc"]["ec+ns"]) - np.array(cpu["libwebrtc"]["off"])
    )
    print(
        "net EC+NS+HPF CPU ratio, round by round: "
        f"min {per_round.min():.2f}, quartiles {np.percentile(per_round, 25):.2f}-{np.percentile(per_round, 75):.2f}, "
        f"max {per_round.max():.2f} (a shared machine's load moves it)"
    )
    print(f"(took {time.monotonic() - t_start:.0f} s)")
    print()
    print(f"audio-erle: ours-libwebrtc dB {o['erle_db'] - l['erle_db']:.1f}")
    print(f"audio-cpu: ours/libwebrtc ratio {net['ours']['ec+ns'] / net['libwebrtc']['ec+ns']:.2f}")


if __name__ == "__main__":
    main()
