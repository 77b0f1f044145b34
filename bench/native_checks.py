"""Native-layer figures: abort latency, no_speech_prob on silence vs speech, CPU-probe cost.

    .venv/bin/python bench/native_checks.py [--compare-lib-dir DIR] [--aborts 12]

Runs each measurement in a child process against the library directory in use (our
patched build) and, with ``--compare-lib-dir``, against another build of the same
engine (e.g. unpatched v1.8.5 libraries) for a before/after table. Audio: jfk.wav from
the verified engine source (``vendor/whisper.cpp/samples``), tiled to 33 s; silence; and
-50 dBFS white noise. Models: ``models/ggml-tiny.en.bin`` and ``models/ggml-base.bin``
(``make models``). Writes ``bench/results/native_checks.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from common import PY, REPO, table, write_json

JFK = REPO / "vendor" / "whisper.cpp" / "samples" / "jfk.wav"
MODELS = {"tiny.en": REPO / "models" / "ggml-tiny.en.bin", "base": REPO / "models" / "ggml-base.bin"}


def _audio() -> dict:
    import numpy as np

    from localwhisper.audio import decode_audio

    jfk = decode_audio(JFK)
    rng = np.random.default_rng(7)
    return {"jfk": jfk, "jfk x3": np.concatenate([jfk, jfk, jfk]),
            "silence": np.zeros(16000 * 10, dtype=np.float32),
            "noise -50 dBFS": (rng.standard_normal(16000 * 10) * 10 ** (-50 / 20)).astype(np.float32)}


def worker(aborts: int) -> dict:
    """In the child: every figure for the library this process loaded."""
    import numpy as np

    from whisper_native import Aborted, FullParams, WhisperContext, read_segments, run_full

    audio = _audio()
    out: dict = {"no_speech": [], "abort": []}
    for name, path in MODELS.items():
        with WhisperContext(path) as ctx, ctx.new_state() as state:
            for clip in ("silence", "noise -50 dBFS", "jfk"):
                params = FullParams().set(n_threads=2, language="en", no_speech_thold=1.0)
                run_full(ctx, state, params, audio[clip])
                probs = [s.no_speech_prob for s in read_segments(ctx, state)]
                out["no_speech"].append({"model": name, "audio": clip, "segments": len(probs),
                                         "no_speech_prob": round(max(probs), 4) if probs else None})
            if name != "base":
                continue
            started = time.perf_counter()
            run_full(ctx, state, FullParams().set(n_threads=2, language="en"), audio["jfk x3"])
            whole_s = time.perf_counter() - started
            rng = np.random.default_rng(11)
            latencies = []
            for delay_s in rng.uniform(0.05, min(whole_s, 3.0) * 0.9, aborts):
                params = FullParams().set(n_threads=2, language="en")
                finished: list[float] = []

                def transcribe(params=params, finished=finished) -> None:
                    with contextlib.suppress(Aborted):
                        run_full(ctx, state, params, audio["jfk x3"])
                    finished.append(time.perf_counter())

                thread = threading.Thread(target=transcribe)
                thread.start()
                time.sleep(float(delay_s))
                aborted_at = time.perf_counter()
                params.abort_flag.set()
                thread.join()
                latencies.append(finished[0] - aborted_at)
            latencies.sort()
            out["abort"].append({"model": name, "call_s": round(whole_s, 3), "aborts": aborts,
                                 "p50_ms": round(statistics.median(latencies) * 1000, 1),
                                 "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
                                 "max_ms": round(latencies[-1] * 1000, 1)})
    return out


def _child(lib_dir: str | None, *args: str, env: dict | None = None) -> str:
    environment = {**os.environ, **(env or {})}
    if lib_dir:
        environment["LOCALWHISPER_LIB_DIR"] = lib_dir
    done = subprocess.run([PY, __file__, *args], capture_output=True, text=True, env=environment,
                          timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def probe_cost(runs: int = 5) -> dict:
    """Start-up cost of the variant choice: library load with a cold and with a warm cache."""
    code = ("import time; t = time.perf_counter(); import whisper_native; "
            "whisper_native.cpu_variant(); print(time.perf_counter() - t)")
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, cache in (("no verdict cached: every candidate probed", None),
                             ("verdict cached", "keep")):
            times = []
            for _ in range(runs):
                path = Path(scratch) / "cpu.json"
                if cache is None:
                    path.unlink(missing_ok=True)
                env = {**os.environ, "LOCALWHISPER_CPU_CACHE": str(path)}
                done = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True)
                times.append(float(done.stdout.strip()))
            figures[label] = round(statistics.median(times) * 1000, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-lib-dir", default=None, help="another build's library directory")
    parser.add_argument("--aborts", type=int, default=12)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.aborts)))
        return 0
    builds = {"patched (this build)": None}
    if args.compare_lib_dir:
        builds["compare: " + args.compare_lib_dir] = args.compare_lib_dir
    results = {label: json.loads(_child(lib, "--worker", "--aborts", str(args.aborts)).splitlines()[-1])
               for label, lib in builds.items()}
    no_speech = [{"build": b, **row} for b, r in results.items() for row in r["no_speech"]]
    aborts = [{"build": b, **row} for b, r in results.items() for row in r["abort"]]
    probe = probe_cost()
    print(table(no_speech, title="no_speech_prob (max over segments, no_speech_thold disabled)"))
    print(table(aborts, title="abort latency: abort flag set mid-call -> run_full returns (base, 2 threads)"))
    print(table([{"start-up": k, "median ms (import + library load)": v} for k, v in probe.items()],
                title="CPU variant probe cost"))
    path = write_json("native_checks", {"no_speech": no_speech, "abort": aborts, "probe_ms": probe})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
