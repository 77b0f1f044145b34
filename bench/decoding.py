"""Default decoding: error rate and wall time per decoding, on long speech and a short-clip set.

Decodings (base model, 2 threads, each engine in its own process, model loaded once):
localwhisper greedy (``beam_size=1``), beam 5, the default (no ``beam_size``: beam 5 on
spans up to 30 s, else greedy with a beam-5 fallback on windows whose average
log-probability is below a threshold; ``--thresholds`` tries others), and faster-whisper
int8 (same CTranslate2 weights) greedy and beam 5. Error rate: WER with bench/common.py's
normaliser (CER for languages written without spaces). Wall: the transcription calls only
(``transcribe_s``, model already loaded), next to every error rate.

Sets: long_en_a (727.5 s, ``$LOCALWHISPER_TEST_DATA``) and the short-clip set that
``bench/clips/fetch_clips.py`` assembles from package-registry recordings (its SOURCES.md).

    python bench/decoding.py [--sets long,clips] [--thresholds -0.5] [--model base]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import common
import peers

CHARACTER_LANGUAGES = {"ja", "zh", "th", "ko"}  # scored by characters (CER)
THREADS = 2


def clip_set() -> list[dict[str, Any]]:
    """The short-clip set (built into .cache/clips by bench/clips/fetch_clips.py when missing)."""
    sys.path.insert(0, str(common.BENCH / "clips"))
    from fetch_clips import load_clips

    return load_clips()


def error_rate(reference: str, text: str, language: str) -> float:
    wer, cer = common.wer_cer(reference, text)
    return cer if language in CHARACTER_LANGUAGES else wer


def configs(thresholds: list[float]) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(label, engine, options, worker extras)."""
    rows = [("greedy", "localwhisper", {"beam_size": 1}, {}),
            ("beam 5", "localwhisper", {"beam_size": 5}, {})]
    for t in thresholds:
        rows.append((f"default (fallback < {t})", "localwhisper", {}, {"fallback_logprob": t}))
    rows += [("faster-whisper greedy", "faster-whisper", {"beam_size": 1}, {"compute_type": "int8"}),
             ("faster-whisper beam 5", "faster-whisper", {"beam_size": 5}, {"compute_type": "int8"})]
    return rows


def model_arg(engine: str, model: str) -> str:
    return str(peers.ggml_model(model) if engine == "localwhisper" else peers.fw_model_dir(model))


def run_long(model: str, label: str, engine: str, options: dict[str, Any], extra: dict[str, Any]
             ) -> dict[str, Any]:
    args = {"engine": engine, "model": model_arg(engine, model), "threads": THREADS,
            "audio": str(common.long_wav()), "options": {"language": "en", **options}, **extra}
    proc = common.engine_worker(args)
    text = " ".join(s[2] for s in proc.extra["segments"])
    wer, _ = common.wer_cer(common.long_reference(), text)
    return {"set": "long_en_a", "decoding": label, "error_rate": wer,
            "wall_s": proc.extra["transcribe_s"], "process_s": proc.wall_s, "rss_mib": proc.max_rss_mib,
            "noise": round(proc.foreign_cpu_s / max(proc.wall_s, 0.1), 2)}


def run_clips(model: str, clips: list[dict[str, Any]], label: str, engine: str, options: dict[str, Any],
              extra: dict[str, Any]) -> dict[str, Any]:
    args = {"engine": engine, "model": model_arg(engine, model), "threads": THREADS, "task": "many",
            "files": [{"path": c["path"], "language": c["language"]} for c in clips],
            "options": options, **extra}
    proc = common.engine_worker(args)
    per_clip = []
    for clip, out in zip(clips, proc.extra["clips"], strict=True):
        per_clip.append({"path": Path(clip["path"]).name, "language": clip["language"],
                         "error_rate": error_rate(clip["reference"], out["text"], clip["language"]),
                         "transcribe_s": out["transcribe_s"], "text": out["text"]})
    words = [max(1, len(common.normalize(c["reference"]).split())) for c in clips]
    pooled = sum(r["error_rate"] * w for r, w in zip(per_clip, words, strict=True)) / sum(words)
    return {"set": f"clips ({len(clips)})", "decoding": label, "error_rate": round(pooled, 4),
            "wall_s": round(sum(r["transcribe_s"] for r in per_clip), 2), "process_s": proc.wall_s,
            "rss_mib": proc.max_rss_mib, "noise": round(proc.foreign_cpu_s / max(proc.wall_s, 0.1), 2),
            "per_clip": per_clip}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sets", default="long,clips")
    parser.add_argument("--model", default="base")
    parser.add_argument("--thresholds", default="-0.5",
                        help="fallback thresholds for the default decoding (comma separated)")
    parser.add_argument("--only", default="", help="comma-separated decoding labels to run (prefix match)")
    parser.add_argument("--name", default="decoding")
    args = parser.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    if "long" in sets:
        common.require_long_data()
    clips = clip_set() if "clips" in sets else []
    chosen = [c for c in configs([float(t) for t in args.thresholds.split(",") if t])
              if not args.only or any(c[0].startswith(o) for o in args.only.split(","))]
    rows = []
    for label, engine, options, extra in chosen:
        for name in sets:
            print(f"{name}: {label}", flush=True)
            if name == "long":
                rows.append(run_long(args.model, label, engine, options, extra))
            else:
                rows.append(run_clips(args.model, clips, label, engine, options, extra))
    greedy = {r["set"]: r["wall_s"] for r in rows if r["decoding"] == "greedy"}
    for r in rows:
        r["x_greedy"] = round(r["wall_s"] / greedy[r["set"]], 2) if r["set"] in greedy else None
    columns = ("set", "decoding", "error_rate", "wall_s", "x_greedy", "process_s", "rss_mib", "noise")
    print(common.table(rows, columns, title=f"decoding ({args.model}, {THREADS} threads; wall = "
                                             "transcription calls, model loaded)"))
    path = common.write_json(args.name, {"columns": list(columns), "model": args.model, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
