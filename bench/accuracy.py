"""Accuracy: WER/CER, language identification, segment-timestamp agreement.

* WER and CER (bench/common.py normaliser) on long_en_a (727.5 s) and jfk.wav:
  localwhisper default (no beam_size) / greedy / beam 5, greedy and beam 5 also with VAD;
  faster-whisper int8
  (same CTranslate2 weights) greedy / beam 5; whisper-cli greedy / beam 5.
* Timestamps: segment boundaries of localwhisper vs whisper-cli (and vs
  faster-whisper), segments matched by largest overlap: median and p95 of
  |start diff| and |end diff|; and every engine's boundaries vs the true clip
  boundaries of long_en_a (SOURCES.md): distance of each segment start (end)
  to the nearest clip start (end).
* Language ID with base: English clips cut from long_en_a + jfk, and Spanish,
  French, Italian and Russian prompts from Debian's asterisk-core-sounds-*-g722
  1.6.1-1 packages (CC BY-SA 3.0 / CC BY 3.0; `apt-get download`, extracted here).

    python bench/accuracy.py [--models tiny.en,base] [--quick] [--skip-langid]

Data: jfk.wav from ``vendor/whisper.cpp/samples``; long_en_a.flac (+ .txt, SOURCES.md) from
``$LOCALWHISPER_TEST_DATA`` (default ``../shared/data``; see bench/common.py).
(``--quick`` needs only jfk.wav.)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import common
import engines
import numpy as np
import peers

LANG_PACKAGES = {"es": "asterisk-core-sounds-es-g722", "fr": "asterisk-core-sounds-fr-g722",
                 "it": "asterisk-core-sounds-it-g722", "ru": "asterisk-core-sounds-ru-g722"}
LANG_DIR = common.WORK / "lang"
CLIPS_PER_LANG = 8
THREADS = [2]  # --threads; 1 is the robust choice on a machine others are loading
Seg = tuple[int, int, str]
T = TypeVar("T")


# --- transcription configs ---------------------------------------------------------------------
CACHE = common.WORK / "accuracy-cache"  # one JSON per finished config; --fresh clears it


def transcribe(engine: str, model: str, audio: Path, beam: int | None, vad: bool = False) -> list[Seg]:
    """Segments of one config, from the cache when an earlier run finished it."""
    cached = CACHE / f"{engine}-{model}-{audio.stem}-b{beam}-vad{int(vad)}.json"
    if cached.is_file():
        return [tuple(s) for s in json.loads(cached.read_text())]  # type: ignore[misc]
    segs = _transcribe(engine, model, audio, beam, vad)
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(segs))
    return segs


def _transcribe(engine: str, model: str, audio: Path, beam: int | None, vad: bool) -> list[Seg]:
    if engine == "whisper-cli":
        with tempfile.TemporaryDirectory(dir=common.WORK) as tmp:
            prefix = Path(tmp) / "out"
            cmd = engines.cli_command(peers.whisper_cli(), peers.ggml_model(model), audio, THREADS[0],
                                      prefix, beam_size=beam)
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"whisper-cli failed: {proc.stderr[-1500:]}")
            return engines.parse_cli_json(prefix)
    if engine == "localwhisper":
        args: dict[str, Any] = {"engine": engine, "model": str(peers.ggml_model(model)),
                                "options": {"beam_size": beam, "vad": vad, "language": "en"}}
    else:
        args = {"engine": engine, "model": str(peers.fw_model_dir(model)), "compute_type": "int8",
                "options": {"beam_size": beam, "language": "en"}}
    result = common.engine_worker(args | {"threads": THREADS[0], "audio": str(audio)}, clean=False)
    return [tuple(s) for s in result.extra["segments"]]  # type: ignore[misc]


# beam None = the default decoding (no beam_size in the request); bench/decoding.py times it
CONFIGS = (("localwhisper", None, False), ("localwhisper", 1, False), ("localwhisper", 5, False),
           ("localwhisper", 1, True),
           ("localwhisper", 5, True), ("faster-whisper", 1, False), ("faster-whisper", 5, False),
           ("whisper-cli", 1, False), ("whisper-cli", 5, False))


def wer_rows(models: list[str], audios: dict[str, tuple[Path, str]]) -> tuple[list[dict[str, Any]], dict]:
    rows, segments = [], {}
    for model in models:
        for engine, beam, vad in CONFIGS:
            for name, (path, ref) in audios.items():
                print(f"{model} {engine} beam={beam} vad={vad} {name}", flush=True)
                segs = transcribe(engine, model, path, beam, vad)
                wer, cer = common.wer_cer(ref, " ".join(s[2] for s in segs))
                name_of = {None: "default", 1: "greedy"}
                config = f"{name_of.get(beam, f'beam {beam}')}{' + VAD' if vad else ''}"
                rows.append({"model": model, "engine": engine, "config": config, "audio": name,
                             "wer": wer, "cer": cer, "n_segments": len(segs)})
                segments[(model, engine, config, name)] = segs
    return rows, segments


# --- timestamps ------------------------------------------------------------------------------
def matched_diffs(a: list[Seg], b: list[Seg]) -> tuple[list[int], list[int]]:
    """For each segment of ``a``, the segment of ``b`` with the largest overlap: |Δstart|, |Δend|."""
    starts, ends = [], []
    for s0, e0, _ in a:
        best, overlap = None, 0
        for s1, e1, t1 in b:
            ov = min(e0, e1) - max(s0, s1)
            if ov > overlap:
                best, overlap = (s1, e1, t1), ov
        if best is not None:
            starts.append(abs(s0 - best[0]))
            ends.append(abs(e0 - best[1]))
    return starts, ends


def truth_diffs(segs: list[Seg]) -> tuple[list[int], list[int]]:
    clips = common.long_clips()
    cstarts = np.array([c.start_s * 1000 for c in clips])
    cends = np.array([(c.start_s + c.dur_s) * 1000 for c in clips])
    return ([int(np.abs(cstarts - s).min()) for s, _, _ in segs],
            [int(np.abs(cends - e).min()) for _, e, _ in segs])


def pct(values: list[int], q: float) -> float | None:
    return round(float(np.percentile(values, q)) / 1000, 3) if values else None


def timestamp_rows(models: list[str], segments: dict) -> list[dict[str, Any]]:
    rows = []
    for model in models:
        lw = segments.get((model, "localwhisper", "greedy", "long_en_a"))
        for engine in ("whisper-cli", "faster-whisper"):
            other = segments.get((model, engine, "greedy", "long_en_a"))
            if lw and other:
                st, en = matched_diffs(lw, other)
                rows.append({"model": model, "compare": f"localwhisper vs {engine} (greedy)",
                             "n": len(st), "start_p50_s": pct(st, 50), "start_p95_s": pct(st, 95),
                             "end_p50_s": pct(en, 50), "end_p95_s": pct(en, 95)})
        for (m, engine, config, audio), segs in segments.items():
            if m == model and audio == "long_en_a" and segs:
                st, en = truth_diffs(segs)
                rows.append({"model": model, "compare": f"{engine} {config} vs true clip bounds",
                             "n": len(st), "start_p50_s": pct(st, 50), "start_p95_s": pct(st, 95),
                             "end_p50_s": pct(en, 50), "end_p95_s": pct(en, 95)})
    return rows


# --- language identification ------------------------------------------------------------------
def lang_clips() -> list[tuple[str, Path]]:
    """(true language, 16 kHz WAV) pairs; deterministic selection of clips >= 2 s."""
    from localwhisper.audio import decode_audio

    out_dir = LANG_DIR / "clips"
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs: list[tuple[str, Path]] = []
    for lang, package in LANG_PACKAGES.items():
        root = LANG_DIR / "x" / "usr" / "share" / "asterisk" / "sounds"
        if not any(root.glob(f"{lang}_*")):
            subprocess.run(["apt-get", "download", package], cwd=LANG_DIR, check=True, capture_output=True)
            deb = next(LANG_DIR.glob(f"{package}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(LANG_DIR / "x")], check=True)
        files = sorted(next(root.glob(f"{lang}_*")).glob("*.g722"))
        chosen = spread([f for f in files if f.stat().st_size >= 2 * 8000])  # G.722: 8000 bytes/s
        for f in chosen:
            target = out_dir / f"{lang}-{f.stem}.wav"
            if not target.is_file():
                _write_wav(target, decode_audio(f))
            pairs.append((lang, target))
    long_audio = decode_audio(common.LONG)
    clips = spread([c for c in common.long_clips() if c.dur_s >= 2.0])
    for i, clip in enumerate(clips):
        target = out_dir / f"en-long-{i:02d}.wav"
        if not target.is_file():
            a = int(clip.start_s * 16000)
            _write_wav(target, long_audio[a:a + int(clip.dur_s * 16000)])
        pairs.append(("en", target))
    return [*pairs, ("en", common.JFK)]


def spread(items: list[T]) -> list[T]:
    """CLIPS_PER_LANG items evenly spaced through ``items``."""
    step = max(1, len(items) // CLIPS_PER_LANG)
    return items[::step][:CLIPS_PER_LANG]


def _write_wav(path: Path, samples: np.ndarray) -> None:
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm)


def cli_langid(model: Path, files: list[Path]) -> list[str]:
    found = []
    for f in files:
        proc = subprocess.run([str(peers.whisper_cli()), "-m", str(model), "-f", str(f), "-l", "auto", "-dl",
                               "-t", str(THREADS[0])], capture_output=True, text=True, check=False)
        match = re.search(r"auto-detected language: (\w+)", proc.stderr)
        found.append(match.group(1) if match else "?")
    return found


def langid_rows() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    pairs = lang_clips()
    files = [str(p) for _, p in pairs]
    truth = [lang for lang, _ in pairs]
    preds = {
        "localwhisper": [r["language"] for r in common.engine_worker(
            {"engine": "localwhisper", "model": str(peers.ggml_model("base")), "threads": THREADS[0],
             "task": "langid", "files": files}, clean=False).extra["langid"]],
        "faster-whisper int8": [r["language"] for r in common.engine_worker(
            {"engine": "faster-whisper", "model": str(peers.fw_model_dir("base")), "threads": THREADS[0],
             "compute_type": "int8", "task": "langid", "files": files}, clean=False).extra["langid"]],
        "whisper-cli": cli_langid(peers.ggml_model("base"), [Path(f) for f in files]),
    }
    rows = []
    for engine, pred in preds.items():
        correct = sum(p == t for p, t in zip(pred, truth, strict=True))
        r: dict[str, Any] = {"engine": engine, "n": len(truth), "accuracy": round(correct / len(truth), 3)}
        for lang in ("en", *LANG_PACKAGES):
            idx = [i for i, t in enumerate(truth) if t == lang]
            r[lang] = f"{sum(pred[i] == lang for i in idx)}/{len(idx)}"
        rows.append(r)
    misses = {e: [f"{Path(files[i]).name}->{p[i]}" for i in range(len(p)) if p[i] != truth[i]]
              for e, p in preds.items()}
    return rows, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--quick", action="store_true", help="tiny.en on jfk only, no language ID")
    parser.add_argument("--skip-langid", action="store_true")
    parser.add_argument("--langid-only", action="store_true", help="only language ID (accuracy-langid.json)")
    parser.add_argument("--threads", type=int, default=2, help="threads per engine")
    parser.add_argument("--fresh", action="store_true", help="ignore transcripts cached by earlier runs")
    args = parser.parse_args()
    THREADS[0] = args.threads
    if args.fresh:
        shutil.rmtree(CACHE, ignore_errors=True)
    models = [m for m in args.models.split(",") if m]
    audios = {"jfk": (common.JFK, common.JFK_REF)}
    if args.quick:
        models, args.skip_langid = ["tiny.en"], True
    else:
        common.require_long_data()
        audios["long_en_a"] = (common.long_wav(), common.long_reference())
    peers.build_whisper_cpp(2)
    if args.langid_only:
        lid_rows, misses = langid_rows()
        print(common.table(lid_rows, title="language ID (base; correct/total per true language)"))
        common.write_json("accuracy-langid", {"threads": args.threads, "langid": lid_rows,
                                              "langid_misses": misses})
        return
    rows, segments = wer_rows(models, audios)
    print(common.table(rows, title=f"WER / CER (normalised; {args.threads} thread(s))"))
    ts_rows = timestamp_rows(models, segments)
    if ts_rows:
        print(common.table(ts_rows, title="segment timestamps: |difference| in seconds"))
    lid_rows, misses = ([], {}) if args.skip_langid else langid_rows()
    if lid_rows:
        print(common.table(lid_rows, title="language ID (base; correct/total per true language)"))
        for engine, missed in misses.items():
            print(f"  {engine} misses: {', '.join(missed) or 'none'}")
    path = common.write_json("accuracy", {"threads": args.threads,
        "wer": rows, "timestamps": ts_rows, "langid": lid_rows, "langid_misses": misses,
        "segments": {" | ".join(k): v for k, v in segments.items()}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
