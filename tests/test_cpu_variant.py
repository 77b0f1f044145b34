"""CPU variant choice: every candidate proved by a real computation in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.native

# Prints how this process chose its variant, then transcribes jfk.wav with the given model.
CHOOSE_AND_TRANSCRIBE = """
import json, logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
started = time.perf_counter()
import whisper_native
choice = whisper_native.cpu_variant_choice()
load_s = time.perf_counter() - started
text = ""
if len(sys.argv) > 2:
    from localwhisper.models.registry import EngineSettings, ModelRegistry
    registry = ModelRegistry(sys.argv[1], EngineSettings(n_states=1, n_threads=2))
    text = registry.get(sys.argv[2]).transcribe(sys.argv[3]).text
    registry.close()
print(json.dumps({"choice": choice, "load_s": load_s, "text": text}))
"""


def _variants() -> tuple[Path, list[tuple[int, str]]]:
    from whisper_native._loader import library_dir, tool_path

    lib_dir = library_dir()
    if not list(lib_dir.glob("libggml-cpu-*.so")):
        pytest.skip("this build has no CPU variant modules (not an all-variants build)")
    listing = subprocess.run([str(tool_path("whisper-cpu-probe")), "--list", str(lib_dir)],
                             capture_output=True, text=True, check=True, timeout=60).stdout
    scored = sorted(((int(line.split()[0]), line.split()[1][len("libggml-cpu-"):-3])
                     for line in listing.splitlines()), reverse=True)
    return lib_dir, scored


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[dict, str]:
    environment = {**os.environ, "LOCALWHISPER_CPU_CACHE": str(tmp_path / "cpu-variant.json"), **env}
    for name in ("LOCALWHISPER_CPU_VARIANT", "LOCALWHISPER_CPU_PROBE_FAIL"):
        if name not in env:
            environment.pop(name, None)
    done = subprocess.run([sys.executable, "-c", CHOOSE_AND_TRANSCRIBE, *args], capture_output=True,
                          text=True, timeout=300, env=environment)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-1500:]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_probe_runs_real_products_on_the_chosen_variant(tmp_path: Path) -> None:
    from whisper_native._loader import tool_path

    _lib_dir, scored = _variants()
    report, log = _run(tmp_path)
    choice = report["choice"]
    assert choice["name"] == scored[0][1] and choice["score"] == scored[0][0]
    assert not choice["cached"] and choice["reason"].startswith("highest ggml score")
    assert "ggml CPU variant" in log and "INFO" in log
    done = subprocess.run([str(tool_path("whisper-cpu-probe")), choice["path"]],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    checks = json.loads(done.stdout)["checks"]
    assert {"f16", "q8_0", "q4_0", "q5_0"} <= {check["type"] for check in checks}
    assert all(check["ok"] and check["error"] < 0.05 for check in checks)


def test_a_probe_that_dies_falls_back_and_transcribes(tmp_path: Path, tiny_en_models_dir: Path) -> None:
    from conftest import JFK_TEXT, JFK_WAV, normalise_text

    _, scored = _variants()
    usable = [name for score, name in scored if score > 0]
    if len(usable) < 2:
        pytest.skip("only one usable CPU variant on this machine")
    report, log = _run(tmp_path, str(tiny_en_models_dir), "tiny.en", str(JFK_WAV),
                       LOCALWHISPER_CPU_PROBE_FAIL=usable[0])
    choice = report["choice"]
    assert choice["name"] == usable[1], choice
    assert choice["rejected"] == [{"name": usable[0], "why": "probe killed by SIGILL"}]
    assert "WARNING" in log and "fallback" in choice["reason"]
    assert normalise_text(report["text"]) == normalise_text(JFK_TEXT)


def test_forcing_a_variant_this_cpu_lacks_falls_back(tmp_path: Path) -> None:
    _, scored = _variants()
    lacking = [name for score, name in scored if score <= 0]
    if not lacking:
        pytest.skip("this CPU supports every variant built")
    report, _ = _run(tmp_path, LOCALWHISPER_CPU_VARIANT=lacking[0])
    choice = report["choice"]
    assert choice["name"] == scored[0][1]
    assert choice["rejected"][0]["name"] == lacking[0]
    assert "lacks its features" in choice["rejected"][0]["why"]


def test_forcing_a_usable_variant_loads_it(tmp_path: Path) -> None:
    _, scored = _variants()
    usable = [name for score, name in scored if score > 0]
    report, _ = _run(tmp_path, LOCALWHISPER_CPU_VARIANT=usable[-1])
    assert report["choice"]["name"] == usable[-1]
    assert report["choice"]["reason"].startswith("forced by LOCALWHISPER_CPU_VARIANT")


def test_the_verdict_is_cached(tmp_path: Path) -> None:
    _variants()
    first, _ = _run(tmp_path)
    second, log = _run(tmp_path)
    assert not first["choice"]["cached"] and second["choice"]["cached"]
    assert second["choice"]["name"] == first["choice"]["name"]
    assert "cached verdict" in log
    # a different override is a different key: probed afresh, not served from the cache
    third, _ = _run(tmp_path, LOCALWHISPER_CPU_PROBE_FAIL="no-such-variant")
    assert not third["choice"]["cached"]
    assert len(json.loads((tmp_path / "cpu-variant.json").read_text())) == 2


def test_doctor_reports_variant_and_patches(tmp_path: Path) -> None:
    env = {**os.environ, "LOCALWHISPER_CPU_CACHE": str(tmp_path / "cpu-variant.json")}
    done = subprocess.run([sys.executable, "-m", "localwhisper", "doctor", "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cpu_variant"]["name"] and report["cpu_variant"]["reason"]
    assert [p["name"] for p in report["build"]["patches"]] == sorted(
        p.name for p in (Path(__file__).parents[1] / "vendor" / "patches").glob("*.patch"))
    text = subprocess.run([sys.executable, "-m", "localwhisper", "doctor"], capture_output=True,
                          text=True, timeout=120, env=env).stdout
    assert "CPU variant" in text and "0001-ggml-amx-tile-config.patch" in text
