"""Choose the ggml CPU variant module that this CPU can really run, before ggml loads one.

ggml's own dispatch (``ggml_backend_load_all_from_path``) loads the variant with the
highest ``ggml_backend_score()``: a feature check, not a proof. A kernel that still
faults (the AMX tile bug on Sapphire Rapids was one: SIGILL on the first q8_0 matmul)
would end the process. So before the first context is created, each candidate is
loaded by ``whisper-cpu-probe`` in a child process, which runs real f16, q8_0, q4_0 and
q5_0 matrix products through every buffer type the variant offers (AMX and repacked
included) and checks them against a float reference. The first candidate, best score
first, that passes is the one this process loads; a child that dies or computes wrong
numbers only moves the choice to the next one.

The verdict is cached (keyed by CPU model and flags, kernel release, the variant files
and the overrides below) in ``$XDG_CACHE_HOME/localwhisper/cpu-variant.json``, so a
warm start costs one small file read.

Environment:
- ``LOCALWHISPER_CPU_VARIANT=name`` tries that variant first (it is still probed; if
  it fails, the best passing one is used and a warning says why);
- ``LOCALWHISPER_CPU_PROBE_FAIL=name,...`` is a test hook: the probe of those variants
  dies with SIGILL, as a broken kernel would;
- ``LOCALWHISPER_CPU_CACHE=path`` moves the verdict cache (``off`` disables it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger("whisper_native.cpu")

FORCE_ENV = "LOCALWHISPER_CPU_VARIANT"
FAIL_ENV = "LOCALWHISPER_CPU_PROBE_FAIL"
CACHE_ENV = "LOCALWHISPER_CPU_CACHE"
PROBE_NAME = "whisper-cpu-probe"
PROBE_TIMEOUT_S = 60
VARIANT_PREFIX = "libggml-cpu-"


@dataclass(frozen=True)
class Rejected:
    name: str
    why: str


@dataclass(frozen=True)
class VariantChoice:
    """The CPU variant this process loads, and how it was chosen."""

    name: str
    path: str
    score: int
    features: dict[str, str]
    reason: str
    probe_seconds: float
    cached: bool
    rejected: list[Rejected] = field(default_factory=list)
    # the weight buffer types whose products passed the probe, e.g. ["AMX", "CPU_REPACK", "CPU"]
    buffers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class NoUsableVariant(OSError):
    """No CPU variant module passed the probe on this machine."""


def variant_name(path: Path) -> str:
    return path.name[len(VARIANT_PREFIX):].split(".so")[0]


def variant_files(lib_dir: Path) -> list[Path]:
    return sorted(lib_dir.glob(f"{VARIANT_PREFIX}*.so"))


def _cpu_identity() -> str:
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Processor", "cpu model") and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = value.strip()
            if model and flags:
                break
    except OSError:
        pass
    return f"{model}|{flags}|{platform.machine()}"


def cache_key(lib_dir: Path) -> str:
    parts = [_cpu_identity(), platform.release(), os.environ.get(FORCE_ENV, ""),
             os.environ.get(FAIL_ENV, "")]
    for path in [*variant_files(lib_dir), lib_dir / PROBE_NAME]:
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_path() -> Path | None:
    override = os.environ.get(CACHE_ENV)
    if override:
        return None if override == "off" else Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "localwhisper" / "cpu-variant.json"


def _read_cache(key: str) -> VariantChoice | None:
    path = cache_path()
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text()).get(key)
        if not entry or "buffers" not in entry:  # a verdict from before buffers were recorded
            return None
        entry["rejected"] = [Rejected(**r) for r in entry.get("rejected", [])]
        entry["cached"] = True
        choice = VariantChoice(**entry)
    except (OSError, ValueError, TypeError):
        return None
    return choice if Path(choice.path).is_file() else None


def _write_cache(key: str, choice: VariantChoice) -> None:
    path = cache_path()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError):
            entries = {}
        entries = {k: v for k, v in entries.items() if k != key}
        entries[key] = choice.as_dict()
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(dict(list(entries.items())[-16:]), indent=1))
        scratch.replace(path)
    except OSError as exc:  # a read-only home must not stop the server
        log.debug("cannot cache the CPU variant verdict in %s: %s", path, exc)


def _run_probe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)


def ranked_variants(lib_dir: Path, probe: Path) -> list[tuple[str, int, Path]]:
    """(name, score, path) of the variants this CPU supports by ggml's score, best first."""
    done = _run_probe([str(probe), "--list", str(lib_dir)], dict(os.environ))
    ranked = []
    for line in done.stdout.splitlines():
        score_text, _, file_name = line.partition(" ")
        path = lib_dir / file_name
        ranked.append((variant_name(path), int(score_text), path))
    return sorted(ranked, key=lambda item: -item[1])


def probe_variant(path: Path, probe: Path) -> tuple[dict | None, str]:
    """Run the probe on one variant in a child: (its report, "") or (None, why it failed)."""
    env = dict(os.environ)
    if variant_name(path) in {n.strip() for n in os.environ.get(FAIL_ENV, "").split(",") if n.strip()}:
        env["LOCALWHISPER_CPU_PROBE_CRASH"] = "1"
    try:
        done = _run_probe([str(probe), str(path)], env)
    except subprocess.TimeoutExpired:
        return None, f"probe did not finish in {PROBE_TIMEOUT_S} s"
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return None, f"probe killed by {name}"
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, f"probe exit {done.returncode} without a report"
    if done.returncode != 0 or not report.get("ok"):
        bad = [f"{c['type']}/{c['buffer']}/batch {c['batch']} error {c['error']}"
               for c in report.get("checks", []) if not c.get("ok")]
        return None, f"probe exit {done.returncode}: " + ("; ".join(bad) or report.get("error", "failed"))
    return report, ""


def choose_variant(lib_dir: Path) -> VariantChoice:
    """The variant to load from ``lib_dir``: cached verdict, else probe candidates in order."""
    key = cache_key(lib_dir)
    cached = _read_cache(key)
    if cached is not None:
        return cached
    probe = lib_dir / PROBE_NAME
    started = time.perf_counter()
    ranked = [item for item in ranked_variants(lib_dir, probe) if item[1] > 0]
    forced = os.environ.get(FORCE_ENV, "").strip()
    rejected: list[Rejected] = []
    if forced:
        match = [item for item in ranked if item[0] == forced]
        if not match:
            known = [variant_name(p) for p in variant_files(lib_dir)]
            why = ("not built here" if forced not in known
                   else "this CPU lacks its features (ggml score 0)")
            rejected.append(Rejected(forced, f"forced by {FORCE_ENV}, but {why}"))
        ranked = match + [item for item in ranked if item[0] != forced]
    for position, (name, score, path) in enumerate(ranked):
        report, why = probe_variant(path, probe)
        if report is None:
            rejected.append(Rejected(name, why))
            continue
        if forced and name == forced:
            reason = f"forced by {FORCE_ENV}; probe passed"
        elif position == 0 and not rejected:
            reason = "highest ggml score for this CPU; probe passed"
        else:
            reason = "fallback: " + "; ".join(f"{r.name}: {r.why}" for r in rejected)
        choice = VariantChoice(name=name, path=str(path), score=score,
                               features=report.get("features", {}), reason=reason,
                               probe_seconds=round(time.perf_counter() - started, 4),
                               cached=False, rejected=rejected,
                               buffers=list(dict.fromkeys(c["buffer"] for c in report.get("checks", []))))
        level = logging.WARNING if rejected else logging.INFO
        log.log(level, "ggml CPU variant %s (score %d, probed in %.0f ms): %s",
                name, score, choice.probe_seconds * 1000, reason)
        _write_cache(key, choice)
        return choice
    raise NoUsableVariant(
        "no ggml CPU variant passed the probe on this machine: "
        + "; ".join(f"{r.name}: {r.why}" for r in rejected))
