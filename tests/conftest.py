"""Shared fixtures. Each section belongs to one layer; keep them apart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
JFK_WAV = SHARED_DATA / "jfk.wav"
LONG_FLAC = SHARED_DATA / "long_en_a.flac"
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


# --- native fixtures ---
@pytest.fixture(scope="session")
def whisper_cpp_dir() -> Path:
    directory = Path(os.environ.get("WHISPER_CPP_DIR") or REPO_ROOT / "vendor" / "whisper.cpp")
    if not (directory / "include" / "whisper.h").exists():
        pytest.fail(f"whisper.cpp source not found at {directory}; run `make build`")
    return directory


@pytest.fixture(scope="session")
def weightless_tiny_en(whisper_cpp_dir: Path) -> Path:
    """whisper.cpp's structural test model: real layout, random weights."""
    return whisper_cpp_dir / "models" / "for-tests-ggml-tiny.en.bin"
