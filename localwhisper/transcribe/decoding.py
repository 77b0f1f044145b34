"""TranscribeOptions → whisper.cpp ``whisper_full_params`` for one call."""

from __future__ import annotations

from localwhisper.types import TranscribeOptions
from whisper_native import AbortFlag, FullParams
from whisper_native import whisper_h as C

DISABLED_LOGPROB_THRESHOLD = -1.0e9  # whisper.cpp has no "off": a bound nothing falls below


def build_full_params(options: TranscribeOptions, *, language: str, n_threads: int,
                      abort_flag: AbortFlag, prompt: str | None) -> FullParams:
    beam = options.beam_size > 1
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
        params.set_beam_search(beam_size=options.beam_size, patience=options.patience)
    return params


def effective_prompt(options: TranscribeOptions) -> str | None:
    """initial_prompt plus hotwords (faster-whisper style: hotwords bias every window)."""
    parts = [p.strip() for p in (options.hotwords, options.initial_prompt) if p and p.strip()]
    return " ".join(parts) if parts else None
