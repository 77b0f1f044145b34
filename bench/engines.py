"""How each engine is run, one process per run.

As a script: ``python bench/engines.py '<json args>' <out.json>`` loads ONE engine
(localwhisper or faster-whisper), runs the task, and writes timings and results
to ``out.json``. The parent measures the whole process (bench/common.py).
As a module: ``cli_command`` / ``parse_cli`` build and read whisper-cli runs.

Args: ``engine`` ("localwhisper" | "faster-whisper"), ``model`` (ggml file or
CTranslate2 dir), ``threads``, ``audio`` (a path), ``task`` ("transcribe" |
"langid"), ``options`` (engine keyword options), ``compute_type`` (faster-whisper),
``repeats`` (transcriptions in the same process; the first is reported as
``transcribe_s`` and the fastest later one as ``warm_transcribe_s``), ``files``
(langid), ``device`` ("cuda"/"cuda:N": on the GPU, peak GPU memory as ``gpu_mem_mib``).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

Seg = tuple[int, int, str]  # start_ms, end_ms, text


# --- whisper-cli (run directly by the parent) -------------------------------------------------
def cli_command(cli: Path, model: Path, audio: Path, threads: int, out_prefix: Path, *,
                beam_size: int = 1, quiet: bool = True, language: str = "en",
                extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [str(cli), "-m", str(model), "-f", str(audio), "-t", str(threads), "-l", language,
           "-oj", "-of", str(out_prefix)]
    if beam_size > 1:
        cmd += ["-bs", str(beam_size)]
    else:  # whisper-cli's defaults are beam 5 / best-of 5; greedy is -bs 1 with best-of 5 fallbacks
        cmd += ["-bs", "1"]
    if quiet:
        cmd.append("-np")
    return cmd + list(extra)


def parse_cli_json(out_prefix: Path) -> list[Seg]:
    data = json.loads(out_prefix.with_suffix(".json").read_bytes().decode("utf-8", errors="replace"))
    return [(int(s["offsets"]["from"]), int(s["offsets"]["to"]), s["text"])
            for s in data.get("transcription", [])]


_TIMING = re.compile(r"whisper_print_timings:\s+(\w[\w ]*?) time =\s+([\d.]+) ms(?:\s*/\s*(\d+) runs)?")


def parse_cli_timings(stderr: str) -> dict[str, float]:
    """whisper_print_timings lines → {"load": s, "encode": s, "encode_runs": n, ...}."""
    out: dict[str, float] = {}
    for name, ms, runs in _TIMING.findall(stderr):
        key = name.strip().replace(" ", "_")
        out[key] = round(float(ms) / 1000, 3)
        if runs:
            out[key + "_runs"] = int(runs)
    fallbacks = re.search(r"fallbacks =\s+(\d+) p /\s+(\d+) h", stderr)
    if fallbacks:
        out["fallbacks"] = int(fallbacks.group(1)) + int(fallbacks.group(2))
    return out


def cli_variant(stderr: str) -> str | None:
    found = re.findall(r"libggml-cpu-([\w.-]+?)\.so", stderr)
    return found[0] if found else "native"  # a GGML_NATIVE build has one ggml-cpu built in


# --- workers ----------------------------------------------------------------------------------
class RssSampler:
    """Samples this process's RSS (MiB) every ``period_s`` on a thread (native calls drop the GIL)."""

    def __init__(self, period_s: float = 1.0) -> None:
        import threading

        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)
        self._thread.start()

    def _run(self, period_s: float) -> None:
        import os

        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(period_s):
            with open("/proc/self/statm") as statm:
                rss = int(statm.read().split()[1]) * page / 2**20
            self.samples.append((round(time.perf_counter() - self._t0, 1), round(rss, 1)))

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        return self.samples


class GpuMemorySampler:
    """Peak GPU memory in use (MiB, the whole device less its reading at start), via nvidia-smi."""

    def __init__(self, index: int = 0, period_s: float = 0.2) -> None:
        import threading

        self._command = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i",
                         str(index)]
        self.baseline = self._read()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)
        self._thread.start()

    def _read(self) -> int:
        import subprocess

        done = subprocess.run(self._command, capture_output=True, text=True, timeout=10)
        return int(done.stdout.split()[0]) if done.returncode == 0 and done.stdout.strip() else 0

    def _run(self, period_s: float) -> None:
        while not self._stop.wait(period_s):
            self.peak = max(self.peak, self._read())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self._read()) - self.baseline


def _gpu_index(device: str) -> int | None:
    """"cuda:1" → 1, "cuda" → 0, "cpu" → None."""
    if not device.startswith(("cuda", "gpu")):
        return None
    return int(device.partition(":")[2] or 0)


def _localwhisper(args: dict[str, Any]) -> dict[str, Any]:
    sampler = RssSampler() if args.get("sample_rss") else None
    gpu_index = _gpu_index(args.get("device", "cpu"))
    gpu = GpuMemorySampler(gpu_index) if gpu_index is not None else None
    t_import = time.perf_counter()
    import whisper_native
    from localwhisper.audio import decode_audio
    from localwhisper.transcribe.engine import Model

    import_s = time.perf_counter() - t_import
    if args.get("fallback_logprob") is not None:  # the default decoding's threshold, for tuning
        from localwhisper.transcribe import decoding

        decoding.FALLBACK_BEAM_LOGPROB = float(args["fallback_logprob"])
    repo = Path(__file__).resolve().parent.parent
    vad = repo / "vendor" / "whisper.cpp" / "models" / "for-tests-silero-v6.2.0-ggml.bin"
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if "device" in args:
        from localwhisper.device import context_options_for

        extra["context_options"] = context_options_for(args["device"])
    model = Model(args["model"], n_states=1, n_threads=args["threads"], vad_model_path=vad, **extra)
    load_s = time.perf_counter() - t0
    out: dict[str, Any] = {"load_s": round(load_s, 3), "import_s": round(import_s, 3),
                           "cpu_variant": whisper_native.cpu_variant()}
    if args.get("task") == "langid":
        results = []
        for path in args["files"]:
            code, prob, _ = model.detect_language(decode_audio(path))
            results.append({"file": path, "language": code, "probability": round(prob, 4)})
        out["langid"] = results
        return out
    if args.get("task") == "many":  # a clip set: [{"path", "language"}], one model load
        out["clips"] = []
        for clip in args["files"]:
            t0 = time.perf_counter()
            options = args.get("options", {}) | {"language": clip["language"]}
            result = model.transcribe(clip["path"], **options)
            out["clips"].append({"path": clip["path"], "transcribe_s": round(time.perf_counter() - t0, 3),
                                 "text": " ".join(s.text.strip() for s in result.segments)})
        return out
    times, first = [], None
    for i in range(int(args.get("repeats", 1))):
        marks: list[float] = []
        t0 = time.perf_counter()
        result = model.transcribe(args["audio"], on_segment=lambda _s, m=marks: m.append(time.perf_counter()),
                                  **args.get("options", {}))
        times.append(time.perf_counter() - t0)
        if i == 0:
            first = (marks[0] - t0) if marks else None
            segs = [(s.start_ms, s.end_ms, s.text) for s in result.segments]
            out.update(language=result.info.language, language_probability=result.info.language_probability,
                       speech_s=result.info.duration_after_vad_ms / 1000)
    model.close()
    if sampler is not None:
        out["rss_samples"] = sampler.stop()
    if gpu is not None:
        out["gpu_mem_mib"] = gpu.stop()
    return out | {"transcribe_s": round(times[0], 3), "first_segment_s": _r(first), "segments": segs,
                  "warm_transcribe_s": round(min(times[1:]), 3) if len(times) > 1 else None}


def _faster_whisper(args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from faster_whisper import WhisperModel

    import_s = time.perf_counter() - t0
    gpu_index = _gpu_index(args.get("device", "cpu"))
    gpu = GpuMemorySampler(gpu_index) if gpu_index is not None else None
    t0 = time.perf_counter()
    model = WhisperModel(args["model"], device="cpu" if gpu_index is None else "cuda",
                         device_index=gpu_index or 0, compute_type=args.get("compute_type", "int8"),
                         cpu_threads=args["threads"], num_workers=1)
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - t0, 3), "import_s": round(import_s, 3)}
    if args.get("task") == "langid":
        from faster_whisper.audio import decode_audio

        results = []
        for path in args["files"]:
            code, prob, _ = model.detect_language(decode_audio(path))
            results.append({"file": path, "language": code, "probability": round(prob, 4)})
        out["langid"] = results
        return out
    options = {"beam_size": 1, "vad_filter": False} | args.get("options", {})
    runner: Any = model
    if args.get("batch_size"):  # BatchedInferencePipeline: VAD-cut windows decoded in batches
        from faster_whisper import BatchedInferencePipeline

        runner = BatchedInferencePipeline(model=model)
        options = {k: v for k, v in options.items() if k != "vad_filter"} | {"batch_size": args["batch_size"]}
    if args.get("task") == "many":
        out["clips"] = []
        for clip in args["files"]:
            t0 = time.perf_counter()
            generator, _ = runner.transcribe(clip["path"], **(options | {"language": clip["language"]}))
            text = " ".join(segment.text.strip() for segment in generator)
            out["clips"].append({"path": clip["path"], "transcribe_s": round(time.perf_counter() - t0, 3),
                                 "text": text})
        return out
    times, first = [], None
    for i in range(int(args.get("repeats", 1))):
        t0 = time.perf_counter()
        generator, info = runner.transcribe(args["audio"], **options)
        segs: list[Seg] = []
        for segment in generator:
            if not segs and i == 0:
                first = time.perf_counter() - t0
            segs.append((round(segment.start * 1000), round(segment.end * 1000), segment.text))
        times.append(time.perf_counter() - t0)
        if i == 0:
            out.update(language=info.language, language_probability=round(info.language_probability, 4),
                       segments=segs)
    if gpu is not None:
        out["gpu_mem_mib"] = gpu.stop()
    return out | {"transcribe_s": round(times[0], 3), "first_segment_s": _r(first),
                  "warm_transcribe_s": round(min(times[1:]), 3) if len(times) > 1 else None}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main() -> None:
    args = json.loads(sys.argv[1])
    worker = {"localwhisper": _localwhisper, "faster-whisper": _faster_whisper}[args["engine"]]
    result = worker(args)
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
