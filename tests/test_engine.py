"""The library API on the real converted tiny.en (and base, marked slow)."""

from __future__ import annotations

import difflib
import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import JFK_TEXT, JFK_WAV, encode_with_pyav, normalise_text

from localwhisper import InvalidAudio, InvalidValue, TranscriptionAborted

pytestmark = pytest.mark.native
JFK_LAST_SPEECH_END_S = 10.62  # Silero VAD on jfk.wav (DESIGN.md)


def test_jfk_matches_reference(tiny_en_model) -> None:
    result = tiny_en_model.transcribe(JFK_WAV)
    assert normalise_text(result.text) == normalise_text(JFK_TEXT)
    assert result.info.language == "en" and result.info.duration == 11.0
    assert result.segments and all(s.avg_logprob < 0 and 0 <= s.no_speech_prob <= 1 for s in result.segments)
    starts = [s.start_ms for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end_ms <= 11000


@pytest.mark.parametrize(("suffix", "codec", "video"), [
    ("flac", "flac", False), ("mp3", "libmp3lame", False), ("ogg", "libopus", False),
    ("m4a", "aac", False), ("mp4", "aac", True),
])
def test_same_text_in_every_container(tiny_en_model, tmp_path: Path, suffix: str, codec: str,
                                      video: bool) -> None:
    encoded = encode_with_pyav(JFK_WAV, tmp_path / f"jfk.{suffix}", codec, video=video)
    result = tiny_en_model.transcribe(encoded)
    assert normalise_text(result.text) == normalise_text(JFK_TEXT), suffix


def test_word_timestamps(tiny_en_model, jfk_samples: np.ndarray) -> None:
    result = tiny_en_model.transcribe(jfk_samples, word_timestamps=True)
    words = result.words
    assert normalise_text("".join(w.word for w in words)) == normalise_text(JFK_TEXT)
    for segment in result.segments:
        for word in segment.words or ():
            assert segment.start_ms <= word.start_ms <= word.end_ms <= segment.end_ms
            assert 0.0 <= word.probability <= 1.0
    ends = [w.end_ms for w in words]
    assert ends == sorted(ends)
    assert [w.start_ms for w in words] == sorted(w.start_ms for w in words)
    assert "country" in words[-1].word
    assert abs(words[-1].end - JFK_LAST_SPEECH_END_S) <= 0.3


def test_words_absent_unless_asked(tiny_en_model, jfk_samples: np.ndarray) -> None:
    result = tiny_en_model.transcribe(jfk_samples)
    assert all(s.words is None for s in result.segments)


def test_vad_maps_times_back_and_skips_silence(tiny_en_model, jfk_samples: np.ndarray) -> None:
    silence = np.zeros(30 * 16000, dtype=np.float32)
    padded = np.concatenate([silence, jfk_samples, silence])
    result = tiny_en_model.transcribe(padded, vad=True)
    assert normalise_text(result.text) == normalise_text(JFK_TEXT)
    assert result.info.duration == 71.0
    assert result.info.duration_after_vad < 12.0
    first, last = result.segments[0], result.segments[-1]
    assert abs(first.start - (30.0 + 0.32)) <= 0.3
    assert abs(last.end - (30.0 + JFK_LAST_SPEECH_END_S)) <= 0.3
    assert all(s.start >= 29.7 and s.end <= 41.0 for s in result.segments)


def test_vad_on_silence_returns_no_text(tiny_en_model) -> None:
    rng = np.random.default_rng(1)
    room_noise = (rng.standard_normal(16000 * 20) * 0.002).astype(np.float32)
    result = tiny_en_model.transcribe(room_noise, vad=True)
    assert result.segments == () and result.text == ""


def test_levelling_raises_only_quiet_passages() -> None:
    from localwhisper.audio.loudness import MAX_GAIN_DB, level_for_vad

    rng = np.random.default_rng(3)
    quiet_tone = (np.sin(np.arange(16000 * 4) * 0.05) * 10 ** (-45 / 20)).astype(np.float32)
    loud_noise = (rng.standard_normal(16000 * 4) * 0.1).astype(np.float32)
    silence = np.zeros(16000 * 4, dtype=np.float32)
    audio = np.concatenate([quiet_tone, silence, loud_noise])
    levelled = level_for_vad(audio)
    assert levelled.dtype == np.float32 and levelled.shape == audio.shape
    assert not np.shares_memory(levelled, audio)
    gain_db = 20 * np.log10(np.abs(levelled[16000:48000]).max() / np.abs(quiet_tone).max())
    assert MAX_GAIN_DB - 1 <= gain_db <= MAX_GAIN_DB + 0.01  # -45 dBFS is raised by the full cap
    assert not levelled[16000 * 5:16000 * 7].any()  # digital silence stays silent
    np.testing.assert_array_equal(levelled[16000 * 10:], audio[16000 * 10:])  # loud audio untouched


def test_vad_keeps_quiet_speech(tiny_en_model, long_flac: Path) -> None:
    """long_en_a 626-656 s: a quiet speaker (a loud cough set the clip's level) between two loud
    prompts. Plain Silero keeps 11.9 s of this; on the levelled copy it keeps the speech (23.5 s)."""
    from localwhisper.audio import decode_audio

    region = decode_audio(long_flac)[626 * 16000:656 * 16000]
    result = tiny_en_model.transcribe(region, vad=True)
    assert result.info.duration_after_vad >= 20.0


def test_four_parallel_transcriptions_share_one_model(tiny_en_model, jfk_samples: np.ndarray) -> None:
    texts: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            texts.append(tiny_en_model.transcribe(jfk_samples).text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert [normalise_text(t) for t in texts] == [normalise_text(JFK_TEXT)] * 4
    stats = tiny_en_model.stats()
    assert stats.max_states == 2 and stats.in_flight == 0
    assert stats.created <= 2 * stats.max_states  # per context: plain + word-timestamp (DTW)


def test_waiting_requests_get_slots_first_come_first_served(tiny_en_model) -> None:
    """A freed slot goes to the oldest waiter: no starvation, tail latency near the median."""
    pool = tiny_en_model.pool
    order: list[int] = []
    with pool.lease(), pool.lease():  # both of the fixture's 2 slots busy
        def wait_in_line(position: int) -> None:
            with pool.lease():
                order.append(position)
                time.sleep(0.01)

        threads = [threading.Thread(target=wait_in_line, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
            time.sleep(0.03)  # arrive in a known order
        assert tiny_en_model.stats().waiting == 6
    for thread in threads:
        thread.join(30)
    assert sorted(order) == list(range(6))
    assert order[2:] == [2, 3, 4, 5]  # 0 and 1 take the two freed slots together
    assert tiny_en_model.stats().waiting == 0


def test_repetition_guard_restarts_without_losing_or_repeating_segments(tiny_en_model,
                                                                          jfk_samples: np.ndarray) -> None:
    """A threshold every segment exceeds makes each pass look like a loop: the chunk is decoded
    again (no prompt, then rising temperature) until the guard gives up, and what comes out is
    still one clean, ordered transcript, with each segment delivered once."""
    delivered: list[int] = []
    result = tiny_en_model.transcribe(jfk_samples, compression_ratio_threshold=0.5,
                                      on_segment=lambda segment: delivered.append(segment.id))
    assert delivered == [s.id for s in result.segments] == list(range(len(result.segments)))
    assert result.segments and all(a.end <= b.start for a, b in itertools.pairwise(result.segments))
    assert result.segments[0].temperature > 0.0  # the last restart runs at a raised temperature
    assert "country" in normalise_text(result.text)


def test_abort_stops_a_long_transcription_fast(tiny_en_model, long_flac: Path) -> None:
    from localwhisper import AbortHandle

    handle = AbortHandle()
    outcome: dict[str, object] = {}
    decoding = threading.Event()

    def work() -> None:
        try:
            tiny_en_model.transcribe(long_flac, abort=handle, on_segment=lambda _s: decoding.set())
            outcome["result"] = "finished"
        except TranscriptionAborted:
            outcome["aborted_at"] = time.monotonic()

    # patch 0002 hands the abort callback to ggml's graph: the bound is a fraction of one
    # 30 s window's pass (it was the whole pass before)
    from localwhisper.audio import decode_audio

    window = decode_audio(long_flac)[: 30 * 16000]
    started = time.monotonic()
    tiny_en_model.transcribe(window, condition_on_previous_text=False, max_tokens_per_segment=1)
    one_window_s = time.monotonic() - started

    thread = threading.Thread(target=work)
    thread.start()
    assert decoding.wait(60), "no segment decoded"
    aborted = time.monotonic()
    handle.abort()
    thread.join(30)
    assert "aborted_at" in outcome, outcome
    assert outcome["aborted_at"] - aborted < max(0.3, one_window_s / 2)  # type: ignore[operator]
    assert tiny_en_model.stats().in_flight == 0


def test_exception_in_user_callback_surfaces(tiny_en_model, jfk_samples: np.ndarray) -> None:
    class Stop(Exception):
        pass

    def on_segment(segment) -> None:
        raise Stop(segment.text)

    with pytest.raises(Stop):
        tiny_en_model.transcribe(jfk_samples, on_segment=on_segment)
    assert normalise_text(tiny_en_model.transcribe(jfk_samples).text) == normalise_text(JFK_TEXT)


def test_stream_yields_segments_before_the_end(tiny_en_model, long_flac: Path) -> None:
    from localwhisper.audio import decode_audio

    minute = decode_audio(long_flac)[: 60 * 16000]
    arrivals: list[float] = []
    started = time.monotonic()
    stream = tiny_en_model.stream(minute)
    segments = []
    for segment in stream:
        arrivals.append(time.monotonic() - started)
        segments.append(segment)
    total = time.monotonic() - started
    assert len(segments) >= 3 and stream.result is not None
    assert arrivals[0] < 0.75 * total
    assert [s.id for s in segments] == list(range(len(segments)))


def test_progress_reaches_100(tiny_en_model, jfk_samples: np.ndarray) -> None:
    seen: list[int] = []
    tiny_en_model.transcribe(jfk_samples, on_progress=seen.append)
    assert seen and seen[-1] == 100 and seen == sorted(seen)


def test_bad_input_and_options_raise_typed_errors(tiny_en_model, jfk_samples: np.ndarray) -> None:
    with pytest.raises(InvalidAudio):
        tiny_en_model.transcribe(b"")
    with pytest.raises(InvalidAudio):
        tiny_en_model.transcribe(b"\x00\x01garbage" * 100)
    with pytest.raises(InvalidValue):
        tiny_en_model.transcribe(jfk_samples, beam_size=99)
    with pytest.raises(InvalidValue):
        tiny_en_model.transcribe(jfk_samples, temperature=7.0)
    with pytest.raises(InvalidValue):
        tiny_en_model.transcribe(jfk_samples, language="fr")  # English-only model
    with pytest.raises(InvalidValue):
        tiny_en_model.transcribe(jfk_samples, language="klingon")
    with pytest.raises(TypeError):
        tiny_en_model.transcribe(jfk_samples, no_such_option=1)


def test_beam_search_runs(tiny_en_model, jfk_samples: np.ndarray) -> None:
    result = tiny_en_model.transcribe(jfk_samples, beam_size=5)
    assert normalise_text(result.text) == normalise_text(JFK_TEXT)


@pytest.mark.slow
def test_base_detects_english(base_model) -> None:
    language, probability, all_probs = base_model.detect_language(JFK_WAV)
    assert language == "en" and probability > 0.9
    assert all_probs[0] == ("en", probability) and len(all_probs) > 90
    result = base_model.transcribe(JFK_WAV)
    assert result.info.language == "en" and result.info.language_probability > 0.9
    assert normalise_text(result.text) == normalise_text(JFK_TEXT)


@pytest.mark.slow
def test_base_translate_task_runs(base_model) -> None:
    result = base_model.transcribe(JFK_WAV, task="translate")
    assert result.task == "translate"
    assert "country" in normalise_text(result.text)


def test_chunked_long_form_agrees_with_one_pass(tiny_en_model, monkeypatch: pytest.MonkeyPatch,
                                                long_flac: Path) -> None:
    from localwhisper.audio import decode_audio

    minute = decode_audio(long_flac)[: 75 * 16000]
    whole = tiny_en_model.transcribe(minute)
    monkeypatch.setattr(tiny_en_model, "chunk_samples", 25 * 16000)
    monkeypatch.setattr(tiny_en_model, "cut_search_samples", 8 * 16000)
    chunked = tiny_en_model.transcribe(minute)
    assert len(chunked.segments) > 3
    whole_words, chunked_words = normalise_text(whole.text).split(), normalise_text(chunked.text).split()
    matcher = difflib.SequenceMatcher(a=whole_words, b=chunked_words, autojunk=False)
    assert matcher.ratio() > 0.9
    starts = [s.start_ms for s in chunked.segments]
    assert starts == sorted(starts) and chunked.segments[-1].end_ms > 65_000


def test_chunk_bounds_cut_in_silence() -> None:
    from localwhisper.audio.timeline import chunk_bounds

    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(16000 * 100) * 0.1).astype(np.float32)
    audio[16000 * 37: 16000 * 38] = 0.0  # a one-second pause inside the search window
    bounds = chunk_bounds(audio, chunk_samples=40 * 16000, search_samples=10 * 16000)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert 37 * 16000 <= bounds[0][1] <= 38 * 16000


def test_silence_gives_no_blank_audio_marker(tiny_en_model) -> None:
    result = tiny_en_model.transcribe(np.zeros(16000 * 3, dtype=np.float32))
    assert "BLANK_AUDIO" not in result.text
    assert [s.id for s in result.segments] == list(range(len(result.segments)))


def test_no_text_leaks_between_requests_on_a_reused_state(ggml_tiny_en: Path, long_flac: Path) -> None:
    """whisper.cpp keeps the last decoded text in the state; the next request must not see it."""
    from localwhisper.audio import decode_audio
    from localwhisper.transcribe.engine import Model

    audio = decode_audio(long_flac)
    clip, previous = audio[60 * 16000: 120 * 16000], audio[300 * 16000: 325 * 16000]
    with Model(ggml_tiny_en, n_states=1, n_threads=2) as model:
        fresh = model.transcribe(clip).text
        model.transcribe(previous)  # same (only) state, different words
        assert model.transcribe(clip).text == fresh
