"""TranscribeOptions → whisper.cpp ``whisper_full_params`` for one call."""

from __future__ import annotations

from localwhisper.types import TranscribeOptions
from whisper_native import AbortFlag, FullParams
from whisper_native import whisper_h as C

DISABLED_LOGPROB_THRESHOLD = -1.0e9  # whisper.cpp has no "off": a bound nothing falls below

# The default decoding (a request that does not set beam_size), chosen by measurement
# (bench/accuracy.py, README "Default decoding"): beam search where it is cheap, greedy with
# a beam-search fallback on uncertain windows where it is not.
DEFAULT_BEAM_SIZE = 5
SHORT_SPAN_MS = 30_000  # one window: the encoder dominates, so beams cost little
FALLBACK_BEAM_LOGPROB = -0.5  # a greedy window whose average log-probability is below: beams


def beam_policy(options: TranscribeOptions, span_ms: int) -> tuple[int, int]:
    """(beam_size, fallback_beam_size) for decoding ``span_ms`` of audio with ``options``."""
    if options.beam_size is not None:
        return options.beam_size, 0
    if options.temperature > 0.0:  # sampling was asked for: beams would ignore it
        return 1, 0
    if span_ms <= SHORT_SPAN_MS:
        return DEFAULT_BEAM_SIZE, 0
    return 1, DEFAULT_BEAM_SIZE


def build_full_params(options: TranscribeOptions, *, language: str, n_threads: int,
                      abort_flag: AbortFlag, prompt: str | None, span_ms: int = 0) -> FullParams:
    """``span_ms``: how much audio this call decodes (it picks the default decoding)."""
    beam_size, fallback_beam = beam_policy(options, span_ms)
    beam = beam_size > 1
    params = FullParams(C.WHISPER_SAMPLING_BEAM_SEARCH if beam else C.WHISPER_SAMPLING_GREEDY, abort_flag)
    params.set(
        n_threads=n_threads,
        translate=options.task == "translate",
        language=language,
        detect_language=False,
        # whisper.cpp keeps the decoded text in the state between calls and prompts the next
        # call with it: with pooled states that would leak one request's words into another's.
        # no_context only clears that carry-over at the start of a call; within the call the
        # rolling context is governed by n_max_text_ctx (0 = condition on nothing).
        no_context=True,
        no_timestamps=False,  # timestamp decoding keeps long-form on track (DESIGN.md)
        token_timestamps=options.word_timestamps,
        max_len=options.max_segment_chars,
        split_on_word=options.split_on_word,
        max_tokens=options.max_tokens_per_segment,
        audio_ctx=options.audio_ctx,
        temperature=options.temperature,
        temperature_inc=options.temperature_increment,
        # whisper.cpp's fallback trigger is token entropy, its analogue of the compression ratio
        entropy_thold=options.compression_ratio_threshold or 0.0,
        logprob_thold=(options.log_prob_threshold if options.log_prob_threshold is not None
                       else DISABLED_LOGPROB_THRESHOLD),
        no_speech_thold=options.no_speech_threshold if options.no_speech_threshold is not None else 2.0,
        suppress_blank=options.suppress_blank,
        suppress_nst=options.suppress_non_speech_tokens,
        max_initial_ts=options.max_initial_timestamp,
        length_penalty=options.length_penalty if options.length_penalty is not None else -1.0,
        carry_initial_prompt=options.carry_initial_prompt,
    )
    if not options.condition_on_previous_text:
        params.set(n_max_text_ctx=0)
    if options.suppress_regex:
        params.set(suppress_regex=options.suppress_regex)
    if prompt:
        params.set(initial_prompt=prompt)
    params.set_greedy(best_of=max(1, options.best_of))
    if beam:
        params.set_beam_search(beam_size=beam_size, patience=options.patience)
    elif fallback_beam > 1:
        params.set_beam_fallback(fallback_beam, FALLBACK_BEAM_LOGPROB)
    return params


def effective_prompt(options: TranscribeOptions) -> str | None:
    """initial_prompt plus hotwords (faster-whisper style: hotwords bias every window)."""
    parts = [p.strip() for p in (options.hotwords, options.initial_prompt) if p and p.strip()]
    return " ".join(parts) if parts else None
