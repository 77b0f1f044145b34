"""Long audio: one hour (long_en_a looped five times, 3637.5 s) through the library.

Writes bench/work/long_en_a_x5.flac (PyAV) once, then transcribes it with
localwhisper in its own process (greedy, 2 threads, timestamps on) and reports:
whole-process wall and RTF, peak RSS (getrusage via /usr/bin/time) and RSS
sampled every second (growth check), and the timeline checks: segment times
monotonic, last segment end within the last minute, largest gap between
segments (the source never pauses more than 0.8 s), true speech clips with no
overlapping segment, and WER per loop iteration (segments assigned by midpoint).

    python bench/long_audio.py [--models tiny.en,base] [--loops 5] [--peers]

``--peers`` also runs whisper-cli and faster-whisper int8 on the same file for
memory and time comparison.

Data: long_en_a.flac (+ .txt, SOURCES.md) from
``$LOCALWHISPER_TEST_DATA`` (default ``../shared/data``; see bench/common.py).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path
from typing import Any

import common
import engines
import numpy as np
import peers

LOOP_S = 727.5
Seg = tuple[int, int, str]


def looped_flac(loops: int) -> Path:
    path = common.WORK / f"long_en_a_x{loops}.flac"
    if path.is_file():
        return path
    import av

    from localwhisper.audio import decode_audio

    samples = decode_audio(common.LONG)
    assert abs(len(samples) / 16000 - LOOP_S) < 0.05, len(samples)
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    tmp = path.with_suffix(".tmp.flac")
    with av.open(str(tmp), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        for _ in range(loops):
            for a in range(0, len(pcm), 16000 * 10):
                frame = av.AudioFrame.from_ndarray(pcm[None, a:a + 16000 * 10], format="s16", layout="mono")
                frame.sample_rate = 16000
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
    return path


def checks(segs: list[Seg], loops: int) -> dict[str, Any]:
    duration_ms = int(loops * LOOP_S * 1000)
    backwards = sum(1 for a, b in itertools.pairwise(segs) if b[0] < a[0])
    inverted = sum(1 for s, e, _ in segs if e < s)
    overlaps = sum(1 for a, b in itertools.pairwise(segs) if b[0] < a[1])
    covered_to, gaps = 0, []  # uncovered stretches: each start vs the furthest end so far
    for s, e, _ in segs:
        gaps.append(s - covered_to)
        covered_to = max(covered_to, e)
    gaps.append(duration_ms - covered_to)
    clips = [(k * LOOP_S * 1000 + c.start_s * 1000, k * LOOP_S * 1000 + (c.start_s + c.dur_s) * 1000)
             for k in range(loops) for c in common.long_clips()]
    starts = np.array([s for s, _, _ in segs])
    ends = np.array([e for _, e, _ in segs])
    missed = [c for c in clips if not np.any((starts < c[1]) & (ends > c[0]))]
    ref = common.long_reference()
    per_loop = []
    for k in range(loops):
        text = " ".join(t for s, e, t in segs if k * LOOP_S * 1000 <= (s + e) / 2 < (k + 1) * LOOP_S * 1000)
        per_loop.append(common.wer_cer(ref, text)[0])
    last_end = int(ends.max()) if len(ends) else 0
    ok = (backwards == 0 and inverted == 0 and duration_ms - last_end <= 60_000 and max(gaps) <= 60_000)
    return {"n_segments": len(segs), "backwards_starts": backwards, "inverted": inverted,
            "overlapping_pairs": overlaps, "last_end_s": last_end / 1000, "duration_s": duration_ms / 1000,
            "max_gap_s": max(gaps) / 1000, "clips_missed": len(missed), "clips_total": len(clips),
            "missed_clips_s": [round(c[0] / 1000, 1) for c in missed][:20],
            "wer_per_loop": per_loop, "timeline_ok": ok}


def run_engine(engine: str, model: str, audio: Path,
               threads: int = 2) -> tuple[common.ProcResult, list[Seg], dict[str, Any]]:
    if engine == "whisper-cli":
        with tempfile.TemporaryDirectory(dir=common.WORK) as tmp:
            prefix = Path(tmp) / "out"
            cmd = engines.cli_command(peers.whisper_cli(), peers.ggml_model(model), audio, threads, prefix,
                                      quiet=False)
            proc = common.run_clean(cmd)
            if proc.rc != 0:
                raise RuntimeError(proc.stderr[-1500:])
            return proc, engines.parse_cli_json(prefix), {"timings": engines.parse_cli_timings(proc.stderr)}
    args: dict[str, Any] = {"engine": engine, "threads": threads, "audio": str(audio),
                            "options": {"language": "en"}}
    if engine == "localwhisper":
        args |= {"model": str(peers.ggml_model(model)), "sample_rss": True}
    else:
        args |= {"model": str(peers.fw_model_dir(model)), "compute_type": "int8"}
    proc = common.engine_worker(args, timeout_s=4 * 3600)
    segs = [tuple(s) for s in proc.extra.pop("segments")]
    proc.extra["segments"] = [list(s) for s in segs]  # (start ms, end ms, text): keep the text to diagnose
    return proc, segs, proc.extra  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--loops", type=int, default=5)
    parser.add_argument("--peers", action="store_true", help="also whisper-cli and faster-whisper int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="long_audio", help="results file: bench/results/NAME.json")
    args = parser.parse_args()
    common.require_long_data()
    audio = looped_flac(args.loops)
    engine_list = ["localwhisper"] + (["whisper-cli", "faster-whisper"] if args.peers else [])
    rows, details = [], []
    for model in [m for m in args.models.split(",") if m]:
        for engine in engine_list:
            print(f"{model} {engine} on {audio.name}", flush=True)
            proc, segs, extra = run_engine(engine, model, audio, args.threads)
            check = checks(segs, args.loops)
            samples = extra.get("rss_samples") or []
            rss_mid = next((r for t, r in samples if t >= extra.get("load_s", 0) + 30), None)
            rows.append({"model": model, "engine": engine, "threads": args.threads, "wall_s": proc.wall_s,
                         "rtf": round(proc.wall_s / (args.loops * LOOP_S), 4),
                         "peak_rss_mib": proc.max_rss_mib,
                         "rss_at_30s_mib": rss_mid, "rss_end_mib": samples[-1][1] if samples else None,
                         "segments": check["n_segments"], "monotonic": check["backwards_starts"] == 0,
                         "overlaps": check["overlapping_pairs"], "last_end_s": check["last_end_s"],
                         "max_gap_s": check["max_gap_s"],
                         "clips_missed": f"{check['clips_missed']}/{check['clips_total']}",
                         "wer_per_loop": " ".join(f"{w:.3f}" for w in check["wer_per_loop"]),
                         "timeline_ok": check["timeline_ok"],
                         "noise": round(proc.foreign_cpu_s / proc.wall_s, 2)})
            measured = {k: v for k, v in vars(proc).items() if k not in ("stdout", "stderr", "extra")}
            details.append({"model": model, "engine": engine, "proc": measured, "checks": check,
                            "extra": extra})
    title = f"long audio: {args.loops} x long_en_a = {args.loops * LOOP_S:.1f} s, {args.threads} thread(s)"
    print(common.table(rows, title=title))
    path = common.write_json(args.name, {"audio": str(audio), "rows": rows, "details": details})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
