"""Soak and leak test of the server: many mixed requests, a few in flight, resources checked.

Starts ``localwhisper serve`` (tiny.en preloaded) in its own process with a private
TMPDIR, then sends ``--requests`` requests with ``--concurrency`` in flight:
- transcriptions of short real speech in every response format (and word timestamps),
- bad inputs that must fail with the right 4xx (empty, random bytes, truncated wav,
  unknown model, a path as model),
- client aborts: a long upload whose connection is dropped mid-transcription.
It reports unexpected outcomes (must be 0), latency percentiles of the successful
transcriptions, the server's RSS every 50 requests (may grow at most 3 % after
warm-up), and open file descriptors and temp files at the end (back to baseline).

    .venv/bin/python bench/soak.py [--requests 1000] [--concurrency 4]

Data: jfk.wav from ``vendor/whisper.cpp/samples``; long_en_a.flac (+ .txt, SOURCES.md) from
``$LOCALWHISPER_TEST_DATA`` (default ``../shared/data``; see bench/common.py).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import JFK, LONG, PY, REPO, WORK, machine, require_long_data, table, write_json

FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GROWTH_LIMIT = 0.03  # RSS after warm-up may grow by at most 3 %


@dataclass
class Outcome:
    kind: str
    status: int
    expected: bool
    seconds: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def make_inputs() -> dict[str, bytes]:
    from localwhisper.audio import decode_audio

    jfk = JFK.read_bytes()
    long_audio = decode_audio(LONG)[: 120 * 16000]
    pcm = (np.clip(long_audio, -1, 1) * 32767).astype("<i2").tobytes()
    header = io.BytesIO()
    import wave

    with wave.open(header, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(pcm)
    return {"jfk": jfk, "long": header.getvalue(), "truncated": jfk[:2000],
            "random": random.Random(7).randbytes(50_000), "empty": b""}


def start_server(port: int, tmpdir: Path, states: int, threads: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmpdir), "LOCALWHISPER_LOG_LEVEL": "warning"}
    command = [PY, "-m", "localwhisper", "serve", "--port", str(port), "--models-dir", str(REPO / "models"),
               "--preload", "tiny.en", "--states", str(states), "--threads", str(threads),
               "--no-ensure-models"]
    log_path = WORK / f"server-{port}.log"  # a file, not a pipe: a full pipe would stall the server
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    server.kill()
    raise RuntimeError("server did not become ready")


def client_abort(port: int, body: bytes) -> Outcome:
    """Send a long upload, then drop the connection while it is being transcribed."""
    boundary = "soakboundary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntiny.en\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
               "Content-Type: audio/wav\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
        time.sleep(1.0)
    return Outcome("client_abort", 0, True, time.perf_counter() - started)


def one_request(client: httpx.Client, port: int, kind: str, inputs: dict[str, bytes]) -> Outcome:
    started = time.perf_counter()
    if kind == "client_abort":
        return client_abort(port, inputs["long"])
    data: dict[str, str] = {"model": "tiny.en"}
    expected_status = 200
    audio = inputs["jfk"]
    if kind in FORMATS:
        data["response_format"] = kind
    elif kind == "words":
        data.update({"response_format": "verbose_json", "timestamp_granularities[]": "word"})
    elif kind in ("empty", "random"):
        audio, expected_status = inputs[kind], 400
    elif kind == "truncated":  # a cut-off wav decodes what is there (60 ms): 200 with no speech
        audio = inputs[kind]
    elif kind == "unknown_model":
        data["model"], expected_status = "no-such-model", 404
    elif kind == "path_model":
        data["model"], expected_status = "../../etc/passwd", 404
    try:
        response = client.post(f"http://127.0.0.1:{port}/v1/audio/transcriptions", data=data,
                               files={"file": ("audio.wav", audio, "audio/wav")}, timeout=120)
    except httpx.HTTPError as exc:
        print(f"  {kind}: transport error {exc!r}", file=sys.stderr)
        return Outcome(kind, -1, False, time.perf_counter() - started)
    ok = response.status_code == expected_status
    if ok and expected_status == 200:
        text = response.text.lower()
        ok = "country" in text if kind != "truncated" else "blank_audio" not in text
    elif ok:
        ok = "error" in response.json()
    if not ok:
        print(f"  {kind}: unexpected {response.status_code} {response.text[:200]!r}", file=sys.stderr)
    return Outcome(kind, response.status_code, ok, time.perf_counter() - started)


def plan(n_requests: int, seed: int = 1) -> list[str]:
    kinds = [*FORMATS, "words"] * 12 + ["empty", "random", "truncated", "unknown_model", "path_model"] * 2 + [
        "client_abort"]
    rng = random.Random(seed)
    return [rng.choice(kinds) for _ in range(n_requests)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--states", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=200, help="requests before the RSS baseline")
    args = parser.parse_args(argv)

    require_long_data()
    inputs = make_inputs()
    port = free_port()
    tmpdir = Path(tempfile.mkdtemp(prefix="localwhisper-soak-"))
    server = start_server(port, tmpdir, args.states, args.threads)
    kinds = plan(args.requests)
    outcomes: list[Outcome] = []
    rss_samples: list[tuple[int, int]] = []
    lock = threading.Lock()
    try:
        with httpx.Client() as warm:
            one_request(warm, port, "json", inputs)
        fds_start = proc_fds(server.pid)
        rss_samples.append((0, proc_rss_kib(server.pid)))
        started = time.perf_counter()

        def run(kind: str) -> None:
            with httpx.Client() as client:
                outcome = one_request(client, port, kind, inputs)
            with lock:
                outcomes.append(outcome)
                if len(outcomes) % 50 == 0:
                    rss_samples.append((len(outcomes), proc_rss_kib(server.pid)))
                    rss_mib = rss_samples[-1][1] / 1024
                    print(f"  {len(outcomes)}/{args.requests} requests, RSS {rss_mib:.0f} MiB",
                          file=sys.stderr)

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(run, kinds))
        wall = time.perf_counter() - started
        time.sleep(2.0)  # let aborted jobs wind down
        fds_end = proc_fds(server.pid)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        in_flight_end = [line for line in metrics.splitlines() if line.startswith("localwhisper_in_flight")]
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    temp_files_left = [p.name for p in tmpdir.iterdir()]

    ok_latencies = [o.seconds for o in outcomes if o.expected and o.status == 200]
    unexpected = [o for o in outcomes if not o.expected]
    after_warmup = [rss for n, rss in rss_samples if n >= args.warmup] or [rss_samples[-1][1]]
    # growth: the highest RSS after warm-up over the RSS at the end of warm-up (a drop, e.g. the
    # heap trimmed once the last request is done, is not growth); spread: highest over lowest
    rss_growth = max(after_warmup) / after_warmup[0] - 1.0
    rss_spread = max(after_warmup) / min(after_warmup) - 1.0
    by_kind: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    rows = [{"kind": kind, "n": len(items), "unexpected": sum(not o.expected for o in items),
             "p50_s": round(percentile([o.seconds for o in items], 50), 3)}
            for kind, items in sorted(by_kind.items())]
    summary = {
        "requests": len(outcomes), "concurrency": args.concurrency, "wall_s": round(wall, 1),
        "throughput_rps": round(len(outcomes) / wall, 2), "unexpected": len(unexpected),
        "latency_p50_s": round(percentile(ok_latencies, 50), 3),
        "latency_p95_s": round(percentile(ok_latencies, 95), 3),
        "latency_p99_s": round(percentile(ok_latencies, 99), 3),
        "rss_mib_samples": [(n, round(kib / 1024, 1)) for n, kib in rss_samples],
        "rss_growth_after_warmup": round(rss_growth, 4), "rss_spread_after_warmup": round(rss_spread, 4),
        "fds_start": fds_start, "fds_end": fds_end,
        "temp_files_left": temp_files_left, "server_alive_at_end": alive, "in_flight_end": in_flight_end,
    }
    print(table(rows, title="soak: outcomes by request kind"))
    print(table([{k: v for k, v in summary.items() if k not in ("rss_mib_samples", "in_flight_end")}],
                title="soak: summary"))
    print("RSS (MiB) every 50 requests:", " ".join(f"{mib:.0f}" for _, mib in summary["rss_mib_samples"]))
    passed = (not unexpected and rss_growth <= GROWTH_LIMIT and fds_end <= fds_start + 2
              and not temp_files_left and alive)
    summary["passed"] = passed
    write_json("soak", {"machine": machine(), "command": " ".join(sys.argv), "summary": summary,
                        "by_kind": rows})
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
