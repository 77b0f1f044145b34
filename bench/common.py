"""Shared helpers of the benchmarks: paths, text normalisation, WER/CER, measured
subprocess runs (wall time, peak RSS, CPU time, foreign CPU load), tables, JSON.

Every engine run happens in its own process under ``/usr/bin/time`` so peak RSS
belongs to that engine alone (``ru_maxrss`` of a child forked from a large
Python parent would inherit the parent's high-water mark).

Data: jfk.wav comes from the verified engine source (``vendor/whisper.cpp/samples``,
fetched by ``make build``). long_en_a.flac, its transcript long_en_a.txt and the clip
table SOURCES.md are not in the repository: they are read from ``$LOCALWHISPER_TEST_DATA``
(default ``../shared/data`` beside the checkout, where CI has them); a benchmark that
needs them stops with a message naming the folder when they are absent.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
WORK = BENCH / "work"
RESULTS = BENCH / "results"
JFK = REPO / "vendor" / "whisper.cpp" / "samples" / "jfk.wav"
DATA = Path(os.environ.get("LOCALWHISPER_TEST_DATA") or REPO.parent / "shared" / "data")
LONG = DATA / "long_en_a.flac"
LONG_REF = DATA / "long_en_a.txt"
JFK_REF = ("And so my fellow Americans, ask not what your country can do for you, "
           "ask what you can do for your country.")
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- text normalisation (a compact take on Whisper's EnglishTextNormalizer) -------------
_FILLERS = {"uh", "um", "hmm", "mm", "mhm", "mmm", "ah", "er", "eh", "hm"}
_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | _TENS
_SPELLING = {"ok": "okay", "colour": "color", "favourite": "favorite", "centre": "center",
             "realise": "realize", "organise": "organize", "cancelled": "canceled",
             "voicemail": "voice mail", "e-mail": "email", "touch-tone": "touchtone"}
_PHRASES = [(r"\ball right\b", "alright"), (r"\bcan't\b|\bcannot\b", "can not"),
            (r"\bwon't\b", "will not"), (r"\b(\w+)n't\b", r"\1 not"), (r"'re\b", " are"),
            (r"'m\b", " am"), (r"'ll\b", " will"), (r"'ve\b", " have"), (r"'d\b", " would")]


def _numbers(words: list[str]) -> list[str]:
    """Spelled cardinals below 100 to digits ("twenty one" -> "21", "zero" -> "0")."""
    out: list[str] = []
    for word in words:
        value = _NUMBER_WORDS.get(word)
        if value is None:
            out.append(word)
        elif out and value < 10 and out[-1].isdigit() and int(out[-1]) in _TENS.values():
            out[-1] = str(int(out[-1]) + value)
        else:
            out.append(str(value))
    return out


def normalize(text: str) -> str:
    """Lower case; bracketed text, fillers and punctuation dropped; numbers as digits."""
    text = text.lower()
    text = re.sub(r"[<\[(][^>\])]*[>\])]", " ", text)
    for word, repl in _SPELLING.items():
        text = re.sub(rf"\b{re.escape(word)}\b", repl, text)
    for pattern, repl in _PHRASES:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"[^\w\s']|_", " ", text).replace("'", "")
    words = [w for w in text.split() if w not in _FILLERS]
    return " ".join(_numbers(words))


def wer_cer(reference: str, hypothesis: str) -> tuple[float, float]:
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not hyp:
        return 1.0, 1.0
    return round(float(jiwer.wer(ref, hyp)), 4), round(float(jiwer.cer(ref, hyp)), 4)


def long_wav() -> Path:
    """long_en_a as 16-bit WAV, decoded once: every engine reads the same samples.

    whisper-cli decodes FLAC with miniaudio, whose output differs slightly from
    ffmpeg's (segment times shifted by ~20 ms, a few different words): WAV avoids it.
    """
    wav = WORK / "long_en_a.wav"
    if not wav.is_file():
        import av

        WORK.mkdir(parents=True, exist_ok=True)
        tmp = wav.with_suffix(".tmp.wav")
        with av.open(str(LONG)) as src, av.open(str(tmp), "w", format="wav") as dst:
            out = dst.add_stream("pcm_s16le", rate=16000, layout="mono")
            for frame in src.decode(audio=0):
                frame.pts = None
                for packet in out.encode(frame):
                    dst.mux(packet)
            for packet in out.encode(None):
                dst.mux(packet)
        tmp.replace(wav)
    return wav


def require_long_data() -> None:
    """Exit with a clear message unless long_en_a.flac, its transcript and SOURCES.md are present."""
    missing = [p.name for p in (LONG, LONG_REF, DATA / "SOURCES.md") if not p.is_file()]
    if missing:
        sys.exit(f"{', '.join(missing)} not found in {DATA}: this benchmark needs the 12-minute "
                 "long_en_a recording (CI's ../shared/data; set LOCALWHISPER_TEST_DATA to its folder)")


def long_reference() -> str:
    return LONG_REF.read_text().strip()


@dataclass(frozen=True)
class Clip:
    start_s: float
    dur_s: float
    reference: str


def long_clips() -> list[Clip]:
    """The clip table of SOURCES.md: where speech is in long_en_a.flac, and what is said."""
    clips = []
    for line in (DATA / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].isdigit():
            clips.append(Clip(float(cells[1]), float(cells[2]), cells[5]))
    return clips


# --- measured processes -------------------------------------------------------------------
@dataclass
class ProcResult:
    cmd: list[str]
    rc: int
    wall_s: float
    max_rss_mib: float
    cpu_s: float
    foreign_cpu_s: float  # CPU used by other processes on this machine during the run
    load_before: float
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _busy_seconds() -> float:
    with open("/proc/stat") as stat:
        fields_ = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields_[:7]
    steal = fields_[7] if len(fields_) > 7 else 0
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def load_average() -> float:
    return os.getloadavg()[0]


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all cores busy over ``seconds`` (this process idles meanwhile)."""
    before = _busy_seconds()
    time.sleep(seconds)
    return (_busy_seconds() - before) / (seconds * (os.cpu_count() or 1))


def wait_for_quiet(max_busy: float = 0.08, max_wait_s: float | None = None, verbose: bool = True) -> float:
    """Wait until other processes leave the cores idle (busy share <= max_busy over 2 s).

    Gives up after ``max_wait_s`` (default ``BENCH_MAX_WAIT_S`` or 300 s); the run's
    ``foreign_cpu_s`` then tells how noisy it was.
    """
    if max_wait_s is None:
        max_wait_s = float(os.environ.get("BENCH_MAX_WAIT_S", "300"))
    deadline = time.monotonic() + max_wait_s
    while True:
        busy = busy_fraction()
        if busy <= max_busy or time.monotonic() > deadline:
            return busy
        if verbose:
            print(f"  (machine busy: {busy:.0%} of cores, load {load_average():.2f}; waiting)", flush=True)
        time.sleep(5)


def run_measured(cmd: Sequence[str], *, timeout_s: float = 3600, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> ProcResult:
    """Run ``cmd`` under /usr/bin/time: wall, peak RSS, CPU time, and other processes' CPU."""
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as handle:
        time_file = handle.name
    full = ["/usr/bin/time", "-o", time_file, "-f", "%M %U %S", *cmd]
    load_before = load_average()
    busy_before = _busy_seconds()
    started = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=cwd,
                          check=False)
    wall = time.perf_counter() - started
    busy = _busy_seconds() - busy_before
    try:
        last = Path(time_file).read_text().strip().splitlines()[-1].split()
        rss_kib, user, system = int(last[0]), float(last[1]), float(last[2])
    finally:
        Path(time_file).unlink(missing_ok=True)
    return ProcResult(cmd=list(cmd), rc=proc.returncode, wall_s=round(wall, 3),
                      max_rss_mib=round(rss_kib / 1024, 1), cpu_s=round(user + system, 2),
                      foreign_cpu_s=round(max(0.0, busy - user - system), 2),
                      load_before=round(load_before, 2), stdout=proc.stdout, stderr=proc.stderr)


def contaminated(result: ProcResult, limit: float = 0.1) -> bool:
    """Other processes took more than ``limit`` of one core on average during the run."""
    return result.foreign_cpu_s > limit * max(result.wall_s, 1.0)


def run_clean(cmd: Sequence[str], *, retries: int = 1, quiet: bool | None = None,
              **kwargs: Any) -> ProcResult:
    """run_measured after waiting for a quiet machine; re-run if others loaded the CPU meanwhile.

    ``BENCH_NO_WAIT=1`` in the environment skips the waiting (development runs).
    """
    quiet = not os.environ.get("BENCH_NO_WAIT") if quiet is None else quiet
    result = None
    for _ in range(retries + 1):
        if quiet:
            wait_for_quiet()
        result = run_measured(cmd, **kwargs)
        if result.rc != 0 or not quiet or not contaminated(result):
            break
        print(f"  (others used {result.foreign_cpu_s:.1f} CPU-s during the run; re-running)", flush=True)
    assert result is not None
    return result


def engine_worker(args: dict[str, Any], *, clean: bool = True, timeout_s: float = 3600) -> ProcResult:
    """Run bench/engines.py in its own process; its JSON result lands in ``.extra``."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=WORK, delete=False) as handle:
        out = handle.name
    cmd = [PY, str(BENCH / "engines.py"), json.dumps(args), out]
    runner = run_clean if clean else run_measured
    result = runner(cmd, timeout_s=timeout_s)
    try:
        if result.rc == 0:
            result.extra = json.loads(Path(out).read_text())
        else:
            raise RuntimeError(f"engine worker failed (rc {result.rc}): {result.stderr[-2000:]}")
    finally:
        Path(out).unlink(missing_ok=True)
    return result


# --- environment, tables, JSON ------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    info: dict[str, Any] = {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(), "mem_gib": round(mem / 2**30, 1)}
    try:
        import whisper_native

        info["whisper_cpp"] = whisper_native.version()
        info["ggml_cpu_variant"] = whisper_native.cpu_variant()
        info["gpus"] = [gpu.label() for gpu in whisper_native.gpu_devices()]
    except Exception as exc:  # a report without the library is still a report
        info["whisper_native_error"] = str(exc)
    return info


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("localwhisper", "faster-whisper", "ctranslate2", "numpy", "av", "jiwer"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
           "machine": machine(), "versions": versions(), **payload}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmp.replace(path)
    return path


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str = "") -> str:
    """A Markdown table of ``rows`` (dicts), columns in the given or first-seen order."""
    if not rows:
        return f"{title}\n(no rows)\n"
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = [f"### {title}"] if title else []
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |" for row in cells]
    return "\n".join(lines) + "\n"
