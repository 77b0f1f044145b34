"""Server benchmark: localwhisper vs whisper.cpp's own whisper-server, same model and cores.

Both serve tiny.en (the same ggml file) on 127.0.0.1; jfk.wav
(``vendor/whisper.cpp/samples``) is posted ``--per-level`` times at each concurrency level
(1, 2, 4, 8 in flight). Reports throughput and p50/p95 latency per level. whisper-server is
built from the same vendored source by bench/peers.py (never shipped); it serialises
requests with one global mutex, while localwhisper runs several whisper states on shared
weights (``--layouts``).

    .venv/bin/python bench/server.py [--per-level 16] [--levels 1 2 4 8] [--layouts 2x1 1x2]
    LOCALWHISPER_DEVICE=cuda python bench/server.py --levels 1 4 16 --layouts 4x2 --no-peer --name gpu-server
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import JFK, REPO, machine, normalize, table, wait_for_quiet, write_json
from peers import build_whisper_cpp, peers_built, whisper_server
from soak import free_port, start_server

MODEL = REPO / "models" / "ggml-tiny.en.bin"


def start_whisper_server(port: int, threads: int) -> subprocess.Popen[bytes]:
    command = [str(whisper_server()), "-m", str(MODEL), "-t", str(threads), "--host", "127.0.0.1",
               "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("whisper-server did not start")


def measure(post: object, level: int, count: int) -> dict[str, float]:
    latencies: list[float] = []
    texts: list[str] = []

    def one(_: int) -> None:
        started = time.perf_counter()
        texts.append(post())  # type: ignore[operator]
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(level) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - started
    correct = sum("ask not what your country can do for you" in normalize(t) for t in texts)
    return {"in_flight": level, "requests": count, "throughput_rps": round(count / wall, 2),
            "p50_s": round(float(np.percentile(latencies, 50)), 3),
            "p95_s": round(float(np.percentile(latencies, 95)), 3), "correct": correct}


def run_levels(label: str, server: subprocess.Popen[bytes], url: str, fields: dict[str, str], audio: bytes,
               args: argparse.Namespace) -> list[dict[str, object]]:
    """Warm the server up, then measure every concurrency level; always stop the server."""
    def post() -> str:
        response = httpx.post(url, timeout=300, data=fields, files={"file": ("jfk.wav", audio)})
        return str(response.json()["text"])

    try:
        post()
        wait_for_quiet(max_wait_s=60)
        return [{"server": label, **measure(post, level, args.per_level)} for level in args.levels]
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-level", type=int, default=16)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--layouts", nargs="+", default=["2x1", "1x2"],
                        help="localwhisper layouts as STATESxTHREADS (states x threads per state)")
    parser.add_argument("--peer-threads", type=int, default=2, help="whisper-server threads")
    parser.add_argument("--no-peer", action="store_true", help="skip whisper-server (CPU-only peer build)")
    parser.add_argument("--name", default="server", help="results file name (bench/results/NAME.json)")
    args = parser.parse_args(argv)
    if not args.no_peer and not peers_built():
        build_whisper_cpp(jobs=2)
    audio = JFK.read_bytes()
    rows: list[dict[str, object]] = []
    for layout in args.layouts:
        states, threads = (int(part) for part in layout.split("x"))
        port = free_port()
        tmpdir = Path(tempfile.mkdtemp(prefix="localwhisper-bench-"))
        rows += run_levels(f"localwhisper {states}x{threads}t", start_server(port, tmpdir, states, threads),
                           f"http://127.0.0.1:{port}/v1/audio/transcriptions", {"model": "tiny.en"}, audio,
                           args)
    if not args.no_peer:
        port = free_port()
        peer = start_whisper_server(port, args.peer_threads)
        rows += run_levels(f"whisper-server {args.peer_threads}t", peer,
                           f"http://127.0.0.1:{port}/inference", {"response_format": "json"}, audio, args)
    print(table(rows, title="server: jfk.wav on tiny.en, throughput and latency by requests in flight"))
    write_json(args.name, {"machine": machine(), "command": " ".join(sys.argv), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
