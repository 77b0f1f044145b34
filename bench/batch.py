"""``localwhisper batch`` throughput: audio hours per hour, embedded vs a local Ray cluster.

    .venv/bin/python bench/batch.py [--model tiny.en] [--copies 40] [--shapes 1x2,2x1] [--no-long]

The set: ``--copies`` distinct copies of jfk.wav (11 s each) plus long_en_a.flac (727.5 s)
when ``$LOCALWHISPER_TEST_DATA`` (default ../shared/data) has it. Each configuration is one
whole ``localwhisper batch`` process into a fresh output folder (model load, and for Ray
the cluster start, included): states × threads for the embedded pool, actors × threads on
Ray. The difference between the two at the same shape is Ray's overhead. Prints a table and
writes bench/results/batch.json; ``BENCH_NO_WAIT=1`` skips waiting for a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import JFK, LONG, PY, REPO, WORK, run_clean, table, write_json


def build_set(folder: Path, copies: int, with_long: bool) -> tuple[list[str], float]:
    """The input folder (made once) and its audio seconds."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "jfk").mkdir(parents=True)
    for index in range(copies):
        shutil.copyfile(JFK, folder / "jfk" / f"jfk-{index:03d}.wav")
    seconds = copies * 11.0
    if with_long and LONG.is_file():
        shutil.copyfile(LONG, folder / LONG.name)
        seconds += 727.5
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()), seconds


def run_one(inputs: Path, out: Path, model: str, *, states: int, threads: int, ray: bool) -> dict[str, Any]:
    if out.exists():
        shutil.rmtree(out)
    cmd = [PY, "-m", "localwhisper", "batch", str(inputs), "-o", str(out), "-m", model, "-f", "text",
           "--models-dir", str(REPO / "models"), "-t", str(threads), "--states", str(states)]
    if ray:
        cmd.append("--ray")
    result = run_clean(cmd, timeout_s=3600, cwd=REPO)
    if result.rc != 0:
        raise SystemExit(f"batch failed (rc {result.rc}):\n{result.stderr[-3000:]}")
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    records = [line for line in lines if "input" in line]
    summary = lines[-1]["summary"]
    audio = sum(r["audio_seconds"] for r in records)
    busy = sum(r["wall_seconds"] for r in records)
    return {"runner": "ray" if ray else "embedded", "shape": f"{states}x{threads}", "files": len(records),
            "audio_s": round(audio, 1), "process_wall_s": result.wall_s,
            "batch_wall_s": summary["wall_seconds"],
            "audio_h_per_h": round(audio / result.wall_s, 1),
            "per_core_audio_h_per_h": round(audio / result.wall_s / (states * threads), 1),
            # Ray's actors are not children of the driver: CPU time is the embedded process's only
            "audio_s_per_cpu_s": None if ray else round(audio / max(result.cpu_s, 0.01), 1),
            "file_wall_sum_s": round(busy, 1), "cpu_s": result.cpu_s, "foreign_cpu_s": result.foreign_cpu_s,
            "max_rss_mib": result.max_rss_mib}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--shapes", default="1x2,2x1", help="states x threads, comma separated")
    parser.add_argument("--no-long", action="store_true", help=f"leave {LONG.name} out of the set")
    args = parser.parse_args()
    if not JFK.is_file():
        raise SystemExit(f"{JFK} not found: run `make build` (it fetches the engine source with the sample)")
    inputs = WORK / "batch-set"
    files, seconds = build_set(inputs, args.copies, not args.no_long)
    with_long = any(name == LONG.name for name in files)
    print(f"set: {len(files)} files, {seconds:.1f} s of audio ({'with' if with_long else 'without'} "
          f"{LONG.name}); model {args.model}", flush=True)
    rows = []
    for shape in args.shapes.split(","):
        states, threads = (int(v) for v in shape.split("x"))
        for ray in (False, True):
            row = run_one(inputs, WORK / "batch-out", args.model, states=states, threads=threads, ray=ray)
            print(f"  {row['runner']:8} {row['shape']}: {row['process_wall_s']:.1f} s, "
                  f"{row['audio_h_per_h']} audio h/h", flush=True)
            rows.append(row)
    for shape in {row["shape"] for row in rows}:
        pair = {row["runner"]: row for row in rows if row["shape"] == shape}
        if len(pair) == 2:
            pair["ray"]["ray_overhead_s"] = round(pair["ray"]["process_wall_s"]
                                                  - pair["embedded"]["process_wall_s"], 1)
    title = f"localwhisper batch, {args.model}, {seconds:.0f} s of audio in {len(files)} files"
    print(table(rows, title=title))
    path = write_json("batch", {"model": args.model, "files": len(files), "audio_s": seconds, "rows": rows})
    print(f"wrote {path}")
    shutil.rmtree(WORK / "batch-out", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
