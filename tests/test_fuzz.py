"""Fuzzing: form parsing (hypothesis) and mutated real audio posted to the real server.

Every case must either succeed or fail with a 4xx OpenAI-shaped error: never a 500,
never a crash, never a hang. ``bench/fuzz.py`` runs thousands of upload cases; this is
a small seeded sample of the same generator.
"""

from __future__ import annotations

import io
import random

import httpx
import pytest
from conftest import JFK_WAV
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localwhisper.errors import LocalWhisperError
from localwhisper.server.audio_request import parse_audio_request
from localwhisper.server.forms import UploadedFile, UploadForm
from localwhisper.types import TranscribeOptions

FIELD_NAMES = [
    "model", "language", "prompt", "response_format", "temperature", "stream", "verbose",
    "timestamp_granularities[]", "timestamp_granularities", "chunking_strategy", "chunking_strategy[type]",
    "chunking_strategy[threshold]", "chunking_strategy[silence_duration_ms]", "include[]", "vad",
    "beam_size", "best_of", "word_timestamps", "hotwords", "max_line_width", "vad_threshold",
    "condition_on_previous_text", "max_segment_chars", "junk", "file",
]
VALUES = st.one_of(
    st.sampled_from([
        "json", "text", "srt", "vtt", "verbose_json", "word", "segment", "auto", "server_vad", "true",
        "false", "0", "1", "-1", "1e309", "nan", "inf", "0.5", "en", "english", "tiny.en", "../../etc/passwd",
        "/etc/passwd", '{"type": "server_vad", "threshold": 2}', "{", "",
    ]),
    st.text(max_size=40))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(FIELD_NAMES), st.lists(VALUES, min_size=1, max_size=3),
                              max_size=8),
       with_file=st.booleans(), task=st.sampled_from(["transcribe", "translate"]))
def test_form_parsing_never_raises_anything_but_4xx(fields: dict[str, list[str]], with_file: bool,
                                                    task: str) -> None:
    upload = UploadedFile("a.wav", "audio/wav", io.BytesIO(b"RIFF")) if with_file else None
    form = UploadForm(fields=fields, file=upload)
    try:
        request = parse_audio_request(form, task)  # type: ignore[arg-type]
        try:
            request.options(TranscribeOptions())
        except LocalWhisperError as exc:
            assert 400 <= exc.http_status < 500
    except LocalWhisperError as exc:
        assert 400 <= exc.http_status < 500, exc
        assert exc.to_openai()["error"]["message"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One of: truncate, flip bytes, splice a chunk elsewhere, zero a run, prepend junk."""
    choice = rng.randrange(5)
    buf = bytearray(data)
    if choice == 0:
        return bytes(buf[: rng.randrange(1, len(buf))])
    if choice == 1:
        for _ in range(rng.randrange(1, 64)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if choice == 2:
        start, length = rng.randrange(len(buf)), rng.randrange(1, 4096)
        chunk = buf[start:start + length]
        at = rng.randrange(len(buf))
        return bytes(buf[:at] + chunk + buf[at:])
    if choice == 3:
        start = rng.randrange(len(buf))
        buf[start:start + rng.randrange(1, 2048)] = b"\x00" * len(buf[start:start + 2048])
        return bytes(buf)
    return rng.randbytes(rng.randrange(1, 256)) + bytes(buf)


@pytest.mark.server
def test_mutated_uploads_get_200_or_4xx(server) -> None:
    rng = random.Random(20261125)
    source = JFK_WAV.read_bytes()
    statuses: list[int] = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for case in range(16):
            body = mutate(source, rng)
            response = client.post("/v1/audio/transcriptions", data={"model": "tiny.en"},
                                   files={"file": (f"case{case}.wav", body, "audio/wav")})
            statuses.append(response.status_code)
            assert response.status_code == 200 or 400 <= response.status_code < 500, (case, response.text)
            if response.status_code != 200:
                assert response.json()["error"]["message"]
        assert client.get("/health").status_code == 200
    assert 200 in statuses and any(400 <= s < 500 for s in statuses)
