"""Server memory under hostile long uploads: peak RSS, release after clients leave, SIGTERM.

    .venv/bin/python bench/memory.py [--uploads 3] [--hours 2.9] [--leave-after-s 20] [--model tiny.en]

Makes one Opus file of speech-shaped noise (pink noise under a 4 Hz syllable envelope),
6 kbit/s, ``--hours`` long — a few MB, under the 25 MiB upload cap and the 3-hour limit —
then starts ``localwhisper serve`` and sends it ``--uploads`` times at once. Each client
disconnects after ``--leave-after-s``. The server's RSS is sampled every 0.25 s: the peak
while they run, then how long after the clients left it takes to come back within 150 MiB
of where it started (warm: two jfk.wav requests first, so both states exist), then how
long SIGTERM takes once nothing is left to finish.
Writes ``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, REPO, WORK, table, write_json

RATE = 16000


def speech_shaped_opus(path: Path, hours: float) -> Path:
    import av

    if path.exists():
        return path
    rng = np.random.default_rng(3)
    block_s = 60
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=RATE)
        stream.bit_rate = 6000
        stream.layout = "mono"
        t = np.arange(block_s * RATE) / RATE
        for _ in range(int(hours * 3600 / block_s)):
            white = rng.standard_normal(block_s * RATE)
            pink = np.cumsum(white) * 0.02
            pink -= np.convolve(pink, np.ones(400) / 400, mode="same")  # drop the drift, keep 1/f-ish
            envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6.28)) ** 2
            samples = (pink * envelope * 0.3).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--hours", type=float, default=2.9)
    parser.add_argument("--leave-after-s", type=float, default=20.0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--max-memory", default=None, help="the server's --max-memory (default: its own)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    upload = speech_shaped_opus(WORK / f"noise-{args.hours:g}h-6k.opus", args.hours)
    made_s = time.perf_counter() - started
    print(f"{upload.name}: {upload.stat().st_size / 1e6:.1f} MB (made in {made_s:.0f} s)")

    port = 18000 + int(time.time()) % 1000
    command = [PY, "-m", "localwhisper", "serve", "--no-ensure-models", "--models-dir", str(REPO / "models"),
               "--port", str(port), "--preload", args.model, "--states", "2", "--threads", "1",
               "--shutdown-timeout-s", "30"]
    if args.max_memory:
        command += ["--max-memory", args.max_memory]
    log = (WORK / "memory-server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.25)
    cold = rss_mib(server.pid)
    # warm: both states created (whisper allocates a state's buffers on first use), as in service
    jfk = REPO / "vendor" / "whisper.cpp" / "samples" / "jfk.wav"

    def warm_up() -> None:
        with jfk.open("rb") as audio:
            httpx.post(url + "/v1/audio/transcriptions", timeout=120,
                       files={"file": ("jfk.wav", audio, "audio/wav")}, data={"model": args.model})

    warmers = [threading.Thread(target=warm_up) for _ in range(2)]
    for thread in warmers:
        thread.start()
    for thread in warmers:
        thread.join()
    time.sleep(1)
    baseline = rss_mib(server.pid)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), rss_mib(server.pid)))
            time.sleep(0.25)

    statuses: list[str] = []

    def client() -> None:
        try:
            with upload.open("rb") as audio:
                response = httpx.post(url + "/v1/audio/transcriptions", timeout=args.leave_after_s,
                                      files={"file": (upload.name, audio, "audio/ogg")},
                                      data={"model": args.model})
            statuses.append(str(response.status_code))
        except httpx.TimeoutException:
            statuses.append("left")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = time.perf_counter()
    clients = [threading.Thread(target=client) for _ in range(args.uploads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    left = time.perf_counter()
    back_s = None
    while time.perf_counter() - left < 120:
        if rss_mib(server.pid) <= baseline + 150:
            back_s = time.perf_counter() - left
            break
        time.sleep(0.25)
    time.sleep(1)
    stop.set()
    sampler.join()
    peak = max(r for _, r in samples)
    after_15 = min((r for t, r in samples if t >= left + 15), default=rss_mib(server.pid))
    term = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=60)
    term_s = time.perf_counter() - term
    row = {"uploads": args.uploads, "hours each": args.hours,
           "file MB": round(upload.stat().st_size / 1e6, 1),
           "clients": ",".join(statuses), "cold MiB": round(cold), "warm baseline MiB": round(baseline),
           "peak MiB": round(peak),
           "peak s after send": round(max(samples, key=lambda s: s[1])[0] - sent, 1),
           "RSS 15 s after leaving": round(after_15),
           "back within 150 MiB after s": None if back_s is None else round(back_s, 1),
           "SIGTERM exit s": round(term_s, 2), "exit code": code}
    print(table([row], title=f"server memory ({args.model}, 2 states x 1 thread)"))
    print(f"wrote {write_json('memory', {'result': row, 'rss_trace': samples[::4]})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
