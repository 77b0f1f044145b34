"""Speed: real-time factor, load time, first-segment latency and peak RSS per engine.

Engines, each run in its own process (whole process incl. load = ``wall``):
localwhisper (the library), whisper-cli (same vendored whisper.cpp, same ggml
files, greedy ``-bs 1``), faster-whisper int8 / float32 (same CTranslate2
weights, greedy, ``vad_filter=False``). Inputs: long_en_a (727.5 s) and jfk.wav
(11 s, short-clip latency; repeated in-process to show the warm per-call cost).

    python bench/speed.py                 # everything (~30 min on 2 idle cores)
    python bench/speed.py --quick         # jfk, tiny.en, dev loop
    python bench/speed.py --models base --threads 2 --audio long
    python bench/speed.py --device cuda --models base --weights f16,q8_0 --fw float16,int8_float16 \
        --audio long --no-cli --name gpu-speed      # on a GPU (bench/gpu.sh)

Data: jfk.wav from ``vendor/whisper.cpp/samples``; long_en_a.flac (+ .txt, SOURCES.md) from
``$LOCALWHISPER_TEST_DATA`` (default ``../shared/data``; see bench/common.py).
(``--audio jfk`` needs only jfk.wav.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import common
import engines
import peers

AUDIO_S = {"jfk": 11.0, "long": 727.5}
WEIGHTS = ("f16", "bf16", "q8_0", "q5_0")
FW_TYPES = ("int8", "float32")


def audio_path(name: str) -> Path:
    return common.JFK if name == "jfk" else common.long_wav()


def reference(name: str) -> str:
    return common.JFK_REF if name == "jfk" else common.long_reference()


def run_cli(model: Path, audio: Path, threads: int, ours: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=common.WORK) as tmp:
        prefix = Path(tmp) / "out"
        # not -np: its timings (load/encode/decode) give the in-process split; printing costs nothing
        cmd = engines.cli_command(peers.whisper_cli(ours), model, audio, threads, prefix, quiet=False)
        proc = common.run_clean(cmd)
        if proc.rc != 0:
            raise RuntimeError(f"whisper-cli failed: {proc.stderr[-1500:]}")
        segs = engines.parse_cli_json(prefix)
    timings = engines.parse_cli_timings(proc.stderr)
    return {"proc": proc, "segments": segs, "load_s": timings.get("load"),
            "transcribe_s": (round(timings["total"] - timings.get("load", 0.0), 3)
                             if "total" in timings else None),
            "first_segment_s": None, "timings": timings, "cpu_variant": engines.cli_variant(proc.stderr)}


def run_worker(args: dict[str, Any]) -> dict[str, Any]:
    proc = common.engine_worker(args)
    return {"proc": proc, **proc.extra}


def row(audio: str, model: str, engine: str, weights: str, threads: int,
        res: dict[str, Any]) -> dict[str, Any]:
    proc: common.ProcResult = res["proc"]
    text = " ".join(s[2] for s in res["segments"])
    wer, _ = common.wer_cer(reference(audio), text)
    return {"audio": audio, "model": model, "engine": engine, "weights": weights, "threads": threads,
            "wall_s": proc.wall_s, "rtf": round(proc.wall_s / AUDIO_S[audio], 4),
            "transcribe_s": res.get("transcribe_s"), "warm_s": res.get("warm_transcribe_s"),
            "import_s": res.get("import_s"), "load_s": res.get("load_s"),
            "first_seg_s": res.get("first_segment_s"),
            "rss_mib": proc.max_rss_mib, "gpu_mib": res.get("gpu_mem_mib"), "cpu_s": proc.cpu_s, "wer": wer,
            "foreign_cpu_s": proc.foreign_cpu_s, "variant": res.get("cpu_variant"),
            "noise": round(proc.foreign_cpu_s / max(proc.wall_s, 0.1), 2),
            "walls": res.get("walls"), "timings": res.get("timings"), "n_segments": len(res["segments"]),
            "segments": res["segments"]}


def warm(args: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Fastest of ``repeats - 1`` further calls in one process (after a first, cold one)."""
    if repeats < 2:
        return {}
    return {"warm_transcribe_s": common.engine_worker(args | {"repeats": repeats}).extra["warm_transcribe_s"]}


def default_weights() -> str:
    """The weights the product runs for an f16 model on this machine (models.weights)."""
    from localwhisper.models.weights import machine_quant

    return machine_quant() or "f16"


def bench(audios: list[str], models: list[str], threads: list[int], weights: list[str],
          fw_types: list[str], runs_short: int, device: str = "cpu",
          cli: bool = True, rounds: int = 1) -> list[dict[str, Any]]:
    """Each (audio, model, threads) group runs its engines in turn, ``rounds`` times over (A B C A B C
    ...), so a drift in the machine's speed reaches every engine alike; each row is its median run."""
    rows = []
    ours = default_weights() if device == "cpu" else "f16"
    for audio in audios:
        path = audio_path(audio)
        runs = runs_short if audio == "jfk" else rounds
        repeats = 5 if audio == "jfk" else 1
        for model in models:
            for n in threads:
                common_args = {"threads": n, "audio": str(path), "options": {"language": "en"}}
                if device != "cpu":
                    common_args["device"] = device
                jobs: list[tuple[str, str, Callable[[], dict[str, Any]], dict[str, Any] | None]] = []
                for w in weights:
                    ggml = peers.ggml_model(model, w)
                    lw_args = common_args | {"engine": "localwhisper", "model": str(ggml)}
                    label = "localwhisper (default here)" if w == ours else "localwhisper"
                    jobs.append((label, w, partial(run_worker, lw_args), lw_args))
                    if cli:
                        jobs.append(("whisper-cli", w, partial(run_cli, ggml, path, n), None))
                    if cli and w == "f16":  # the same tree with our ggml flags (tinyBLAS)
                        jobs.append(("whisper-cli (ours)", w, partial(run_cli, ggml, path, n, True), None))
                for ct in fw_types:
                    fw_args = common_args | {"engine": "faster-whisper", "compute_type": ct,
                                             "model": str(peers.fw_model_dir(model))}
                    jobs.append(("faster-whisper", ct, partial(run_worker, fw_args), fw_args))
                    if ct == "int8":
                        jobs.append(("faster-whisper beam 5", ct, partial(run_worker, fw_args | {
                            "options": {"language": "en", "beam_size": 5}}), None))
                        jobs.append(("faster-whisper batched(8)", ct,
                                     partial(run_worker, fw_args | {"batch_size": 8}), None))
                results: list[list[dict[str, Any]]] = [[] for _ in jobs]
                for round_no in range(runs):
                    for (label, w, fn, _), done in zip(jobs, results, strict=True):
                        print(f"{audio} {model} t={n} round {round_no + 1}/{runs}: {label} {w}", flush=True)
                        done.append(fn())
                for (label, w, _, warm_args), done in zip(jobs, results, strict=True):
                    walls = [r["proc"].wall_s for r in done]
                    chosen = done[walls.index(statistics.median_low(walls))] | {"walls": walls}
                    if warm_args is not None:
                        chosen |= warm(warm_args, repeats)
                    rows.append(row(audio, model, label, w, n, chosen))
    add_ratios(rows)
    return rows


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Wall ratios vs whisper-cli (same weights) and vs faster-whisper int8 (same audio/model/threads)."""
    def find(r: dict[str, Any], engine: str, weights: str) -> dict[str, Any] | None:
        return next((o for o in rows if o["engine"] == engine and o["weights"] == weights and
                     (o["audio"], o["model"], o["threads"]) == (r["audio"], r["model"], r["threads"])), None)

    for r in rows:
        cli = find(r, "whisper-cli", r["weights"] if not r["engine"].startswith("faster-whisper") else "f16")
        fw = find(r, "faster-whisper", "int8")
        r["x_cli"] = round(r["wall_s"] / cli["wall_s"], 2) if cli else None
        r["x_fw_int8"] = round(r["wall_s"] / fw["wall_s"], 2) if fw else None


SPLIT = ("load", "mel", "encode", "encode_runs", "decode", "decode_runs", "batchd", "batchd_runs", "prompt",
         "prompt_runs", "sample", "fallbacks", "total")
COLUMNS = ("audio", "model", "engine", "weights", "threads", "wall_s", "walls", "rtf", "transcribe_s",
           "warm_s", "import_s", "load_s", "first_seg_s", "rss_mib", "wer", "x_cli", "x_fw_int8", "variant",
           "noise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="jfk only, tiny.en only, 2 threads")
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--audio", default="jfk,long")
    parser.add_argument("--weights", default=",".join(WEIGHTS))
    parser.add_argument("--fw", default=",".join(FW_TYPES), help="faster-whisper compute types ('' = none)")
    parser.add_argument("--runs-short", type=int, default=3, help="process runs per jfk config (median)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="long audio: run every engine this many times, in turn (median)")
    parser.add_argument("--name", default="speed")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (both engines; GPU memory too)")
    parser.add_argument("--no-cli", action="store_true", help="skip whisper-cli (CPU-only peer build)")
    args = parser.parse_args()
    if args.quick:
        args.models, args.audio, args.threads, args.runs_short = "tiny.en", "jfk", "2", 1
    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    if "long" in split(args.audio):
        common.require_long_data()
    if not args.no_cli:
        peers.build_whisper_cpp(2)
    rows = bench(split(args.audio), split(args.models), [int(t) for t in split(args.threads)],
                 split(args.weights), split(args.fw), args.runs_short, args.device, not args.no_cli,
                 args.rounds)
    print(f"machine: {common.machine()}")
    columns = COLUMNS if args.device == "cpu" else (*COLUMNS, "gpu_mib")
    print(common.table(rows, columns, title="speed (wall = whole process incl. load; rtf = wall / audio)"))
    split_rows = [{"audio": r["audio"], "model": r["model"], "weights": r["weights"], "threads": r["threads"],
              **{k: r["timings"].get(k) for k in SPLIT}} for r in rows if r["engine"] == "whisper-cli"]
    print(common.table(split_rows, title="whisper-cli in-process split (s; its whisper_print_timings)"))
    path = common.write_json(args.name, {"columns": list(columns), "audio_s": AUDIO_S, "device": args.device,
                                         "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
