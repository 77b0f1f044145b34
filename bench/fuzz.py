"""Bounded fuzz run: mutated real audio into the decoder and the upload endpoint.

Sources are jfk.wav (from the verified engine source, ``vendor/whisper.cpp/samples``) and
its flac/mp3/ogg/m4a/mp4 encodings (made here with PyAV); mutations (truncate, byte flips,
splices, zeroed runs, junk prefixes) come from the same generator as tests/test_fuzz.py.
Every case must decode or raise InvalidAudio (in process), and get 200 or a 4xx from the
server: no 500, no crash, no hang past the timeout. Prints a table and writes
bench/results/fuzz.json.

    .venv/bin/python bench/fuzz.py [--decoder-cases 3000] [--upload-cases 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import JFK, machine, table, write_json
from conftest import encode_with_pyav
from soak import free_port, start_server
from test_fuzz import mutate

ENCODINGS = {"flac": "flac", "mp3": "libmp3lame", "ogg": "libopus", "m4a": "aac"}


def encoded_sources(directory: Path) -> dict[str, bytes]:
    sources = {"wav": JFK.read_bytes()}
    for suffix, codec in ENCODINGS.items():
        sources[suffix] = encode_with_pyav(JFK, directory / f"jfk.{suffix}", codec).read_bytes()
    return sources


def fuzz_decoder(sources: dict[str, bytes], cases: int, seed: int) -> dict[str, object]:
    from localwhisper.audio import decode_audio
    from localwhisper.errors import InvalidAudio

    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slowest = 0.0
    for case in range(cases):
        name = rng.choice(sorted(sources))
        body = mutate(sources[name], rng)
        started = time.perf_counter()
        try:
            samples = decode_audio(body)
            outcomes["decoded"] += 1
            if samples.dtype.name != "float32" or samples.ndim != 1 or not len(samples):
                failures.append(f"case {case} ({name}): bad array {samples.dtype} {samples.shape}")
        except InvalidAudio:
            outcomes["InvalidAudio"] += 1
        except Exception as exc:  # anything else is a bug
            outcomes["other"] += 1
            failures.append(f"case {case} ({name}): {type(exc).__name__}: {exc}")
        slowest = max(slowest, time.perf_counter() - started)
    return {"cases": cases, "outcomes": dict(outcomes), "failures": failures[:20],
            "slowest_s": round(slowest, 3)}


def fuzz_uploads(sources: dict[str, bytes], cases: int, seed: int, concurrency: int) -> dict[str, object]:
    port = free_port()
    tmpdir = Path(tempfile.mkdtemp(prefix="localwhisper-fuzz-"))
    server = start_server(port, tmpdir, states=2, threads=1)
    rng = random.Random(seed)
    names = [rng.choice(sorted(sources)) for _ in range(cases)]
    bodies = [(name, mutate(sources[name], rng)) for name in names]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    slowest = 0.0

    def post(item: tuple[str, bytes]) -> tuple[int, float, str]:
        name, body = item
        started = time.perf_counter()
        try:
            with httpx.Client(timeout=120) as client:
                response = client.post(f"http://127.0.0.1:{port}/v1/audio/transcriptions",
                                       data={"model": "tiny.en"}, files={"file": (f"f.{name}", body)})
            detail = "" if response.status_code < 500 else response.text[:200]
            return response.status_code, time.perf_counter() - started, detail
        except httpx.HTTPError as exc:
            return -1, time.perf_counter() - started, repr(exc)

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            for status, seconds, detail in pool.map(post, bodies):
                statuses[status] += 1
                slowest = max(slowest, seconds)
                if status == -1 or status >= 500:
                    failures.append(f"{status}: {detail}")
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        alive = server.poll() is None and health.status_code == 200
    finally:
        server.terminate()
        server.wait(30)
    return {"cases": cases, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "failures": failures[:20], "slowest_s": round(slowest, 2), "server_alive": alive,
            "temp_files_left": len(list(tmpdir.iterdir()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder-cases", type=int, default=3000)
    parser.add_argument("--upload-cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        sources = encoded_sources(Path(directory))
    decoder = fuzz_decoder(sources, args.decoder_cases, args.seed)
    uploads = fuzz_uploads(sources, args.upload_cases, args.seed + 1, args.concurrency)
    print(table([{"target": "decode_audio", "cases": decoder["cases"], "result": decoder["outcomes"],
                  "failures": len(decoder["failures"]), "slowest_s": decoder["slowest_s"]},  # type: ignore[arg-type]
                 {"target": "POST /v1/audio/transcriptions", "cases": uploads["cases"],
                  "result": uploads["statuses"], "failures": len(uploads["failures"]),  # type: ignore[arg-type]
                  "slowest_s": uploads["slowest_s"]}], title="fuzz"))
    for failure in [*decoder["failures"], *uploads["failures"]]:  # type: ignore[misc]
        print("  FAIL", failure)
    passed = not decoder["failures"] and not uploads["failures"] and bool(uploads["server_alive"]) \
        and not uploads["temp_files_left"]
    write_json("fuzz", {"machine": machine(), "command": " ".join(sys.argv), "decoder": decoder,
                        "uploads": uploads, "passed": passed})
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
