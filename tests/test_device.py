"""The device setting and the GPU backend's absence: CPU forced, CUDA asked for without a GPU.

These run on any build and any machine. On a CUDA build without a driver they also prove
that libggml-cuda stays unloaded with one INFO line and the CPU transcribes; on a CPU build
an explicit ``cuda`` names the missing backend. Anything native runs in a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import JFK_TEXT, JFK_WAV, REPO_ROOT, normalise_text

from whisper_native.devices import Device, DeviceUnavailable, parse_device, plan_device

pytestmark = pytest.mark.native

# Lists devices, plans the requested one, transcribes jfk.wav on it; prints JSON on the last line.
PLAN_AND_TRANSCRIBE = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
import whisper_native
from whisper_native._loader import gpu_backend_notes, library_dir
out = {"devices": [d.name for d in whisper_native.list_devices()], "backends": whisper_native.backends(),
       "notes": gpu_backend_notes(), "cuda_module": (library_dir() / "libggml-cuda.so").exists(),
       "system_info": whisper_native.system_info()}
from localwhisper.device import context_options_for
from localwhisper.errors import DeviceUnavailable
try:
    options = context_options_for(sys.argv[1])
    out["use_gpu"] = options.use_gpu
    if len(sys.argv) > 2:
        from localwhisper.transcribe.engine import Model
        with Model(sys.argv[2], n_states=1, n_threads=2, context_options=options) as model:
            out["text"] = model.transcribe(sys.argv[3]).text
except DeviceUnavailable as exc:
    out["error"] = [exc.code, exc.message]
print(json.dumps(out))
"""


def _gpu_here() -> bool:
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True, timeout=30).returncode == 0


needs_no_gpu = pytest.mark.skipif(_gpu_here(), reason="a GPU is present: bench/gpu.sh covers it")


def _child(*args: str, **env: str) -> tuple[dict, str]:
    environment = {k: v for k, v in os.environ.items() if k != "LOCALWHISPER_DEVICE"} | env
    done = subprocess.run([sys.executable, "-c", PLAN_AND_TRANSCRIBE, *args], capture_output=True, text=True,
                          timeout=300, env=environment, cwd=REPO_ROOT)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


# --- parsing and planning (no native library) ---------------------------------------------
@pytest.mark.parametrize(("raw", "value"), [("auto", "auto"), ("CPU", "cpu"), (" cuda ", "cuda"),
                                            ("cuda:1", "cuda:1"), ("gpu:0", "gpu:0")])
def test_parse_device_accepts(raw: str, value: str) -> None:
    assert parse_device(raw) == value


@pytest.mark.parametrize("raw", ["", "cuda:", "cuda:-1", "cpu:0", "auto:1", "metal", "cuda:x"])
def test_parse_device_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N"):
        parse_device(raw)


def _gpu(index: int, name: str) -> Device:
    return Device(index=index, name=name, description="NVIDIA H200", kind="gpu",
                  memory_total=143_771 * 2**20, memory_free=140_000 * 2**20)


def test_plan_maps_onto_context_flags() -> None:
    gpus = [_gpu(0, "CUDA0"), _gpu(1, "CUDA1")]
    assert plan_device("cpu", gpus).use_gpu is False
    auto = plan_device("auto", gpus)
    assert (auto.use_gpu, auto.gpu_device, auto.device.name) == (True, 0, "CUDA0")
    second = plan_device("cuda:1", gpus)
    assert (second.use_gpu, second.gpu_device, second.device.name) == (True, 1, "CUDA1")
    assert "CUDA1 (NVIDIA H200, 140.4 GiB)" in second.describe()
    with pytest.raises(DeviceUnavailable, match=r"'cuda:2' is not available: GPUs present: CUDA0, CUDA1"):
        plan_device("cuda:2", gpus)


def test_auto_without_gpu_is_cpu_with_reason() -> None:
    plan = plan_device("auto", [])
    assert plan.use_gpu is False and plan.device is None
    assert plan.describe().startswith("device auto: CPU (no GPU: ")


# --- the real library, in child processes --------------------------------------------------
@needs_no_gpu
def test_cuda_without_gpu_is_a_clear_error() -> None:
    out, _log = _child("cuda")
    assert out["devices"] == ["CPU"]
    code, message = out["error"]
    assert code == "device_unavailable"
    assert "device 'cuda' is not available" in message and "--device cpu" in message
    if out["cuda_module"]:  # a CUDA build on a machine without a driver or GPU
        assert "libggml-cuda.so" in message
    else:
        assert "no GPU backend" in message and "GGML_CUDA=on" in message
    assert "GPU = none" in out["system_info"]


@needs_no_gpu
def test_auto_falls_back_to_cpu_with_one_info_line(ggml_tiny_en: Path) -> None:
    out, log = _child("auto", str(ggml_tiny_en), str(JFK_WAV))
    assert out["use_gpu"] is False
    assert normalise_text(out["text"]) == normalise_text(JFK_TEXT)
    assert "device auto: CPU (no GPU: " in log
    if out["cuda_module"]:
        loader_lines = [line for line in log.splitlines() if line.startswith("INFO whisper_native.loader")]
        assert len(loader_lines) == 1, log
        assert "libggml-cuda.so" in loader_lines[0] and "using the CPU" in loader_lines[0]
        assert "ERROR" not in log, log


def test_cpu_forced_keeps_gpu_modules_unloaded(ggml_tiny_en: Path) -> None:
    out, log = _child("cpu", str(ggml_tiny_en), str(JFK_WAV), LOCALWHISPER_DEVICE="cpu")
    assert out["use_gpu"] is False and out["devices"] == ["CPU"]
    assert normalise_text(out["text"]) == normalise_text(JFK_TEXT)
    assert "device cpu: CPU" in log
    if out["cuda_module"]:
        assert out["notes"] == ["libggml-cuda.so not loaded: LOCALWHISPER_DEVICE=cpu"]
        assert "CUDA" not in out["backends"]


# --- the CLI ---------------------------------------------------------------------------------
def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "LOCALWHISPER_DEVICE"} | env
    return subprocess.run([sys.executable, "-m", "localwhisper", *args], capture_output=True, text=True,
                          timeout=300, env=environment, cwd=REPO_ROOT)


@needs_no_gpu
def test_cli_device_flags(tmp_path: Path, ggml_tiny_en: Path) -> None:
    serve = _cli("serve", "--no-ensure-models", "--models-dir", str(tmp_path), "--device", "cuda")
    assert serve.returncode == 2 and "device 'cuda' is not available" in serve.stderr
    bad = _cli("serve", "--device", "tpu")
    assert bad.returncode == 2 and "--device" in bad.stderr and "'tpu'" in bad.stderr
    env_bad = _cli("serve", "--no-ensure-models", "--models-dir", str(tmp_path), LOCALWHISPER_DEVICE="cuda:3")
    assert env_bad.returncode == 2 and "device 'cuda:3' is not available" in env_bad.stderr
    cuda = _cli("transcribe", "--device", "cuda", "-m", str(ggml_tiny_en), str(JFK_WAV))
    assert cuda.returncode == 1 and "device 'cuda' is not available" in cuda.stderr
    cpu = _cli("transcribe", "-m", str(ggml_tiny_en), "-t", "2", str(JFK_WAV), LOCALWHISPER_DEVICE="cpu")
    assert cpu.returncode == 0, cpu.stderr
    assert normalise_text(cpu.stdout) == normalise_text(JFK_TEXT)


def test_doctor_reports_devices() -> None:
    done = _cli("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "CPU" in report["backends"]
    cpu = [d for d in report["devices"] if d["kind"] == "cpu"]
    assert cpu and cpu[0]["name"] == "CPU" and cpu[0]["memory_total"] > 0
    gpus = [d for d in report["devices"] if d["kind"] == "gpu"]
    assert report["device"]["backend"] == (gpus[0]["name"] if gpus else "CPU")
    forced = json.loads(_cli("doctor", "--json", LOCALWHISPER_DEVICE="cpu").stdout)
    assert forced["device"]["use_gpu"] is False and forced["device"]["summary"] == "device cpu: CPU"
    text = _cli("doctor").stdout
    assert "backends:" in text and "device:       device auto:" in text


# --- bench/gpu.sh on a machine without a GPU ---------------------------------------------------
@needs_no_gpu
def test_gpu_script_stops_clearly_without_a_gpu(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOCALWHISPER_DEVICE"} | {
        "PY": sys.executable, "BUILD": "never", "GPU_RESULTS": str(tmp_path / "results"),
        "GPU_LOG_DIR": str(tmp_path / "logs"), "GPU_WHEELS": str(tmp_path / "no-wheels")}
    done = subprocess.run(["bash", str(REPO_ROOT / "bench" / "gpu.sh")], capture_output=True, text=True,
                          timeout=120, env=env, cwd=REPO_ROOT)
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]
    assert "NO GPU: " in done.stdout
    assert "stopping before the GPU steps" in done.stdout
    summary = json.loads((tmp_path / "results" / "gpu-summary.json").read_text())
    assert [step["step"] for step in summary["steps"]] == ["preflight", "build", "gpu"]
    assert summary["steps"][-1]["rc"] == 3 and "NO GPU" in summary["steps"][-1]["note"]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["gpu-summary.json"]
