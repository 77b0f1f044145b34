"""Memory is O(piece), not O(duration): long inputs are decoded as they are transcribed."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

MINUTE = 60


def _quiet_wav(path: Path, minutes: int, rate: int = 8000) -> Path:
    """Minutes of very quiet noise as 8 kHz 16-bit PCM: small to write, costly to decode whole."""
    rng = np.random.default_rng(5)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for _ in range(minutes):
            out.writeframes((rng.standard_normal(rate * MINUTE) * 3).astype(np.int16).tobytes())
    return path


def test_streaming_decode_holds_one_block(tmp_path: Path) -> None:
    from localwhisper.audio import stream_audio

    path = _quiet_wav(tmp_path / "forty-minutes.wav", 40)
    whole_mib = 40 * MINUTE * 16000 * 4 / 2**20  # what decode_audio would hold: 146 MiB
    tracemalloc.start()
    try:
        header: dict[str, int] = {}
        total = blocks = 0
        for block in stream_audio(path, block_samples=30 * 16000, header=header):
            assert block.dtype == np.float32 and len(block) <= 30 * 16000
            total += len(block)
            blocks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 40 * MINUTE * 16000 and blocks == 80
    assert abs(header["expected_samples"] - total) < 0.02 * total
    assert peak / 2**20 < 16, f"peak {peak / 2**20:.1f} MiB of {whole_mib:.0f} MiB decoded"


def test_stream_and_whole_decode_agree(tmp_path: Path) -> None:
    from localwhisper.audio import decode_audio, stream_audio

    path = _quiet_wav(tmp_path / "two-minutes.wav", 2, rate=22050)
    whole = decode_audio(path)
    streamed = np.concatenate(list(stream_audio(path, block_samples=7 * 16000 + 3)))
    assert np.array_equal(whole, streamed)


def test_pieces_cut_where_the_whole_input_would_be_cut() -> None:
    from localwhisper.audio.timeline import audio_pieces, chunk_bounds

    rng = np.random.default_rng(2)
    audio = (rng.standard_normal(16000 * 130) * 0.1).astype(np.float32)
    audio[16000 * 40:16000 * 41] = 0.0  # quiet moments for the cutter to find
    audio[16000 * 85:16000 * 86] = 0.0
    sizes = {"chunk_samples": 45 * 16000, "search_samples": 10 * 16000}
    blocks = [audio[i:i + 16000 * 7] for i in range(0, len(audio), 16000 * 7)]
    pieces = list(audio_pieces(blocks, *sizes.values()))
    assert [(origin, origin + len(piece)) for origin, piece in pieces] == chunk_bounds(audio, **sizes)
    assert len(pieces) == 3
    assert np.array_equal(np.concatenate([piece for _, piece in pieces]), audio)


TRANSCRIBE_LONG = """
import json, resource, sys
from localwhisper.models.registry import EngineSettings, ModelRegistry
registry = ModelRegistry(sys.argv[1], EngineSettings(n_states=1, n_threads=2))
model = registry.get("tiny.en")
model.transcribe(sys.argv[3])  # warm: first-call allocations are not what is measured
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = model.transcribe(sys.argv[2], vad=True)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after, "duration_ms": result.info.duration_ms,
                  "segments": len(result.segments)}))
"""


@pytest.mark.native
def test_an_hour_of_input_transcribes_in_bounded_memory(tmp_path: Path) -> None:
    """An hour decoded whole is 230 MB of float32; streamed, the peak grows by a few pieces."""
    from conftest import JFK_WAV, SERVER_MODELS_DIR  # tiny.en and the VAD model

    path = _quiet_wav(tmp_path / "hour.wav", 60)
    done = subprocess.run([sys.executable, "-c", TRANSCRIBE_LONG, str(SERVER_MODELS_DIR), str(path),
                           str(JFK_WAV)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["duration_ms"] == 60 * MINUTE * 1000
    growth_mib = (report["after_kib"] - report["before_kib"]) / 1024
    assert growth_mib < 120, f"peak RSS grew by {growth_mib:.0f} MiB for an hour of input"


REPEAT_REQUESTS = """
import json, sys
from localwhisper.models.registry import EngineSettings, ModelRegistry
from localwhisper.resources import resident_bytes
from localwhisper.server.memory import trim, tune_allocator
tune_allocator()  # as the server does
registry = ModelRegistry(sys.argv[1], EngineSettings(n_states=1, n_threads=1))
model = registry.get("tiny.en")
audio = open(sys.argv[2], "rb").read()
def run(n):
    for _ in range(n):
        model.transcribe(audio)
    trim()
    return resident_bytes()
run(4)  # warm: the state's buffers
warm = run(4)
after = run(24)
print(json.dumps({"warm": warm, "after": after}))
"""


@pytest.mark.native
def test_repeated_requests_do_not_grow_memory() -> None:
    """24 requests after warm-up: a per-request leak of the decoded clip (0.7 MB) would add 17 MB."""
    from conftest import JFK_WAV, SERVER_MODELS_DIR

    done = subprocess.run([sys.executable, "-c", REPEAT_REQUESTS, str(SERVER_MODELS_DIR), str(JFK_WAV)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    growth_mib = (report["after"] - report["warm"]) / 2**20
    assert growth_mib < 6, f"RSS grew {growth_mib:.1f} MiB over 24 requests"
