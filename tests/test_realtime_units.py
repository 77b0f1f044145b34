"""Realtime building blocks without a server: resampler, G.711, turns, settings, events, VAD stream."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import av
import numpy as np
import pytest
from conftest import REPO_ROOT, WHISPER_CPP_DIR

from localwhisper.errors import InvalidEvent
from localwhisper.server.realtime.audio_codecs import (
    ALAW_TABLE,
    MULAW_TABLE,
    AudioDecoder,
    AudioFormat,
    decode_base64,
)
from localwhisper.server.realtime.events import error_event, parse_client_event
from localwhisper.server.realtime.session_config import SessionConfig, TurnDetection, apply_update
from localwhisper.server.realtime.stream_resampler import StreamResampler
from localwhisper.server.realtime.turns import FRAME_SAMPLES, SpeechStarted, SpeechStopped, TurnDetector


# --- resampler ---
@pytest.mark.parametrize("rate", [8000, 24000, 48000])
def test_resampler_output_does_not_depend_on_chunking(rate: int) -> None:
    rng = np.random.default_rng(rate)
    samples = (rng.standard_normal(rate * 2) * 0.3).astype(np.float32)
    one_shot = StreamResampler(rate).push(samples)
    resampler, parts, at = StreamResampler(rate), [], 0
    while at < len(samples):
        size = int(rng.integers(1, 2500))
        parts.append(resampler.push(samples[at:at + size]))
        at += size
    chunked = np.concatenate(parts)
    assert len(chunked) == len(one_shot) > 16000 * 2 - 40
    np.testing.assert_allclose(chunked, one_shot, atol=1e-6, rtol=0)


def test_pcm16_decoder_carries_odd_bytes_and_chunking_is_exact() -> None:
    rng = np.random.default_rng(1)
    pcm = rng.integers(-20000, 20000, 24000, dtype=np.int16).tobytes()
    whole = StreamResampler(24000).push(AudioDecoder(AudioFormat()).decode(pcm))
    decoder, resampler, parts, at = AudioDecoder(AudioFormat()), StreamResampler(24000), [], 0
    for size in [1, 3, 4800, 7, 4801, 2, 9999, *[333] * 40]:
        parts.append(resampler.push(decoder.decode(pcm[at:at + size])))
        at += size
    parts.append(resampler.push(decoder.decode(pcm[at:])))
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("rate", "hz"), [(24000, 1000), (8000, 440), (48000, 3000)])
def test_resampler_keeps_a_tone_and_removes_what_cannot_be_represented(rate: int, hz: int) -> None:
    t = np.arange(rate) / rate
    out = StreamResampler(rate).push(np.sin(2 * np.pi * hz * t).astype(np.float32))
    expected = np.sin(2 * np.pi * hz * np.arange(len(out)) / 16000)
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 1e-3  # aligned in time: no delay
    if rate > 16000:
        alias = StreamResampler(rate).push(np.sin(2 * np.pi * 10000 * t).astype(np.float32))
        assert np.sqrt(np.mean(alias[200:-200] ** 2)) < 1e-3  # 10 kHz is above the new Nyquist


# --- G.711 ---
def _libavcodec_table(codec: str) -> np.ndarray:
    context = av.CodecContext.create(codec, "r")
    context.sample_rate, context.layout = 8000, "mono"
    frames = context.decode(av.Packet(bytes(range(256))))
    return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])


@pytest.mark.parametrize(("codec", "table"), [("pcm_mulaw", MULAW_TABLE), ("pcm_alaw", ALAW_TABLE)])
def test_g711_tables_match_libavcodec(codec: str, table: np.ndarray) -> None:
    np.testing.assert_array_equal(np.round(table * 32768).astype(np.int16), _libavcodec_table(codec))


def test_g711_known_values() -> None:
    as_int = {name: np.round(table * 32768).astype(int) for name, table in
              (("ulaw", MULAW_TABLE), ("alaw", ALAW_TABLE))}
    assert (as_int["ulaw"][0x00], as_int["ulaw"][0x80], as_int["ulaw"][0xFF], as_int["ulaw"][0x7F]) == (
        -32124, 32124, 0, 0)
    assert (as_int["alaw"][0xD5], as_int["alaw"][0x55], as_int["alaw"][0xAA], as_int["alaw"][0x2A]) == (
        8, -8, 32256, -32256)
    decoded = AudioDecoder(AudioFormat("g711_ulaw", 8000)).decode(bytes([0x00, 0xFF, 0x80]))
    np.testing.assert_array_equal(np.round(decoded * 32768), [-32124, 0, 32124])


def test_base64_limits() -> None:
    assert decode_base64("AAEC", 10) == b"\x00\x01\x02"
    for value, code in (("***", "invalid_base64"), (123, "invalid_value"), ("A" * 100, "audio_too_large")):
        with pytest.raises(InvalidEvent) as caught:
            decode_base64(value, 10)
        assert caught.value.to_openai()["error"]["code"] == code


# --- turns ---
def _frames(pattern: str) -> list[float]:
    """'.' silence, '#' speech, one character per 32 ms frame."""
    return [0.9 if ch == "#" else 0.05 for ch in pattern]


def test_one_turn_with_prefix_padding_and_silence() -> None:
    detector = TurnDetector(TurnDetection(threshold=0.5, prefix_padding_ms=64, silence_duration_ms=96))
    events = detector.push(_frames("....###.#.....##"), 0)
    assert events[:2] == [SpeechStarted(onset=4 * FRAME_SAMPLES, start=2 * FRAME_SAMPLES),
                          SpeechStopped(start=2 * FRAME_SAMPLES, end=12 * FRAME_SAMPLES)]
    # the next turn's padding does not reach back before the previous stop
    assert events[2] == SpeechStarted(onset=14 * FRAME_SAMPLES, start=12 * FRAME_SAMPLES)


def test_two_turns_in_one_push_and_a_turn_capped_by_max_length() -> None:
    detector = TurnDetector(TurnDetection(prefix_padding_ms=0, silence_duration_ms=64))
    kinds = [type(e).__name__ for e in detector.push(_frames("##...##..."), 0)]
    assert kinds == ["SpeechStarted", "SpeechStopped", "SpeechStarted", "SpeechStopped"]
    capped = TurnDetector(TurnDetection(prefix_padding_ms=0), max_turn_ms=320)
    events = capped.push(_frames("#" * 25), 0)
    stops = [e for e in events if isinstance(e, SpeechStopped)]
    assert [s.end - s.start for s in stops] == [10 * FRAME_SAMPLES, 10 * FRAME_SAMPLES]


def test_hysteresis_and_reset() -> None:
    detector = TurnDetector(TurnDetection(threshold=0.5, prefix_padding_ms=0, silence_duration_ms=64))
    events = detector.push([0.9, 0.4, 0.4, 0.4, 0.1, 0.1], 0)  # 0.4 is above 0.5 - 0.15: still speech
    assert events[-1] == SpeechStopped(start=0, end=6 * FRAME_SAMPLES)
    detector.push([0.9], 6 * FRAME_SAMPLES)
    assert detector.speaking
    detector.reset(7 * FRAME_SAMPLES)  # a manual commit
    assert not detector.speaking
    assert detector.push([0.9], 7 * FRAME_SAMPLES) == [SpeechStarted(7 * FRAME_SAMPLES, 7 * FRAME_SAMPLES)]


# --- settings and events ---
def test_session_updates_in_both_dialects() -> None:
    transcription = {"model": "tiny.en", "language": "en"}
    config = apply_update(SessionConfig(), {"input_audio_format": "g711_alaw", "turn_detection": None,
                                            "input_audio_transcription": transcription})
    assert config.audio_format == AudioFormat("g711_alaw", 8000) and config.turn_detection is None
    assert config.beta()["input_audio_transcription"] == {**transcription, "prompt": None}
    config = apply_update(config, {"type": "transcription", "audio": {"input": {
        "format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": {"type": "server_vad",
                                                                          "silence_duration_ms": 200}}}})
    assert config.transcription.model == "tiny.en"  # untouched fields stay
    assert config.ga()["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert config.ga()["audio"]["input"]["turn_detection"] == {
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200}
    semantic = apply_update(config, {"type": "transcription", "audio": {"input": {
        "turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}})
    assert semantic.ga()["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    for bad, param in (({"input_audio_format": "opus"}, "session.input_audio_format"),
                       ({"turn_detection": {"threshold": 2}}, "session.turn_detection.threshold"),
                       ({"type": "transcription", "include": ["x"]}, "session.include")):
        with pytest.raises(InvalidEvent) as caught:
            apply_update(config, bad)
        assert caught.value.param == param


def test_client_events_are_checked() -> None:
    assert parse_client_event('{"type": "input_audio_buffer.commit"}')["type"] == "input_audio_buffer.commit"
    for text, code in (("[1]", "invalid_event"), ("nope", "invalid_json"), ('{"type": 3}', "invalid_event"),
                       ('{"type": "response.create"}', "unsupported_event")):
        with pytest.raises(InvalidEvent) as caught:
            parse_client_event(text)
        event = error_event(caught.value, "evt_9")
        assert event["type"] == "error" and event["event_id"].startswith("event_")
        assert event["error"]["code"] == code and event["error"]["event_id"] == "evt_9"
        assert event["error"]["type"] == "invalid_request_error"


# --- VAD stream (native: in a child process) ---
VAD_CHECK = """
import json, sys
import numpy as np
from localwhisper.audio import decode_audio
from localwhisper.audio.loudness import StreamLeveller
from localwhisper.transcribe.vad_stream import SpeechProbabilities
samples = decode_audio(sys.argv[2])
whole = SpeechProbabilities(sys.argv[1]).feed(samples)
stream, parts, at = SpeechProbabilities(sys.argv[1]), [], 0
rng = np.random.default_rng(3)
while at < len(samples):
    size = int(rng.integers(100, 5000))
    parts.append(stream.feed(samples[at:at + size]))
    at += size
quiet = samples * np.float32(10 ** (-26 / 20))
raw = SpeechProbabilities(sys.argv[1]).feed(quiet)
levelled = SpeechProbabilities(sys.argv[1]).feed(StreamLeveller().push(quiet))
print(json.dumps({"max_diff": float(np.abs(np.concatenate(parts) - whole).max()), "frames": len(whole),
                  "speech": float((whole > 0.5).mean()), "quiet_raw": float((raw > 0.5).mean()),
                  "quiet_levelled": float((levelled > 0.5).mean())}))
"""


def run_child(script: str) -> dict[str, Any]:
    """``script`` in a child process with the VAD model path and jfk.wav as arguments; its JSON report."""
    vad_model = REPO_ROOT / "models" / "ggml-silero-v6.2.0.bin"
    if not vad_model.is_file():
        vad_model = WHISPER_CPP_DIR / "models" / "for-tests-silero-v6.2.0-ggml.bin"
    jfk = WHISPER_CPP_DIR / "samples" / "jfk.wav"
    done = subprocess.run([sys.executable, "-c", script, str(vad_model), str(jfk)], capture_output=True,
                          text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_vad_stream_is_chunking_independent_and_levelling_hears_quiet_speech() -> None:
    report = run_child(VAD_CHECK)
    assert report["frames"] == 176000 // FRAME_SAMPLES
    assert report["max_diff"] < 1e-5
    assert 0.4 < report["speech"] < 0.95
    assert report["quiet_levelled"] > max(0.4, report["quiet_raw"])


INPUT_CHECK = """
import dataclasses, json, sys
import av
import numpy as np
from localwhisper.server.realtime.input_audio import InputAudio, Turn
from localwhisper.server.realtime.session_config import SessionConfig

resampler = av.AudioResampler(format="s16", layout="mono", rate=24000)
with av.open(sys.argv[2]) as container:
    frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames] + [np.zeros(24000, np.int16)]).tobytes()

def turns(sizes, manual_until=0):
    config = SessionConfig()
    audio = InputAudio(dataclasses.replace(config, turn_detection=None) if manual_until else config,
                       sys.argv[1], 60)
    found, at, step = [], 0, 0
    while at < len(pcm):
        if manual_until and at >= manual_until:
            audio.configure(config)
            manual_until = 0
        size = sizes[step % len(sizes)]
        found += [(e.start, e.end) for e in audio.feed(pcm[at:at + size]) if isinstance(e, Turn)]
        at, step = at + size, step + 1
    return found

print(json.dumps({"appends_100ms": turns([4800]), "odd_appends": turns([7, 9601, 1234, 3]),
                  "vad_from_2s": turns([4800], manual_until=96000)}))
"""


def test_turns_do_not_depend_on_append_sizes_and_vad_can_start_late() -> None:
    report = run_child(INPUT_CHECK)
    assert len(report["appends_100ms"]) >= 3
    assert report["odd_appends"] == report["appends_100ms"]
    late = report["vad_from_2s"]
    assert late and late[0][0] >= 2 * 16000 - 300 * 16  # nothing before VAD started (but the padding)
    assert abs(late[-1][1] - report["appends_100ms"][-1][1]) <= 2 * FRAME_SAMPLES
