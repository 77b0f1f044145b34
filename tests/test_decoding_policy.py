"""The default decoding: which beam settings a call gets when the request does not choose."""

from __future__ import annotations

from localwhisper.transcribe.decoding import (
    DEFAULT_BEAM_SIZE,
    FALLBACK_BEAM_LOGPROB,
    SHORT_SPAN_MS,
    beam_policy,
    build_full_params,
)
from localwhisper.types import TranscribeOptions
from whisper_native import AbortFlag
from whisper_native import whisper_h as C


def test_short_spans_get_beam_search_by_default() -> None:
    assert beam_policy(TranscribeOptions(), SHORT_SPAN_MS) == (DEFAULT_BEAM_SIZE, 0)
    assert beam_policy(TranscribeOptions(), 1_000) == (DEFAULT_BEAM_SIZE, 0)


def test_long_spans_get_greedy_with_a_beam_fallback_by_default() -> None:
    assert beam_policy(TranscribeOptions(), SHORT_SPAN_MS + 1) == (1, DEFAULT_BEAM_SIZE)


def test_an_explicit_beam_size_is_kept_as_asked() -> None:
    for span in (1_000, 600_000):
        assert beam_policy(TranscribeOptions(beam_size=1), span) == (1, 0)
        assert beam_policy(TranscribeOptions(beam_size=3), span) == (3, 0)


def test_sampling_at_a_temperature_is_not_turned_into_beams() -> None:
    assert beam_policy(TranscribeOptions(temperature=0.4), 1_000) == (1, 0)


def test_native_params_carry_the_policy() -> None:
    def params(options: TranscribeOptions, span_ms: int):
        return build_full_params(options, language="en", n_threads=1, abort_flag=AbortFlag(),
                                 prompt=None, span_ms=span_ms).struct

    short = params(TranscribeOptions(), 10_000)
    assert short.strategy == C.WHISPER_SAMPLING_BEAM_SEARCH and short.beam_search.beam_size == 5
    assert short.fallback_beam_size == 0
    long = params(TranscribeOptions(), 600_000)
    assert long.strategy == C.WHISPER_SAMPLING_GREEDY
    assert long.fallback_beam_size == DEFAULT_BEAM_SIZE
    assert abs(long.fallback_beam_logprob_thold - FALLBACK_BEAM_LOGPROB) < 1e-6
    greedy = params(TranscribeOptions(beam_size=1), 600_000)
    assert greedy.strategy == C.WHISPER_SAMPLING_GREEDY and greedy.fallback_beam_size == 0
