"""Decode one chunk of audio with whisper.cpp into Segments, guarding against repetition loops.

The engine cuts long input into pieces as it is decoded (timeline.audio_pieces) and hands
each, VAD-packed, to a :class:`ChunkDecoder`, which owns the per-call plumbing: native params, the new-segment
callback that turns whisper.cpp's segments into :class:`Segment` (times mapped back
through the VAD timeline), progress, abort, and the loop guard. When a repetition loop
appears (repetition.py) the pass is stopped and the rest of the chunk is decoded again
from the loop's start without the prompt that fed it, then with a rising temperature,
at most MAX_RESTARTS_PER_CHUNK times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from localwhisper.audio.timeline import SAMPLE_RATE, Timeline
from localwhisper.transcribe.decoding import build_full_params, effective_prompt
from localwhisper.transcribe.repetition import MAX_RESTARTS_PER_CHUNK, compression_ratio, is_repetition_loop
from localwhisper.transcribe.words import words_from_tokens
from localwhisper.types import Segment, TokenLogprob, TranscribeOptions
from whisper_native import (
    Aborted,
    AbortFlag,
    RawSegment,
    WhisperContext,
    WhisperState,
    read_segments,
    run_full,
)
from whisper_native import whisper_h as C

log = logging.getLogger(__name__)

SegmentCallback = Callable[[Segment], None]
ProgressCallback = Callable[[int], None]
NON_SPEECH_MARKERS = frozenset({"[BLANK_AUDIO]", "[ Silence ]", "[silence]", "(silence)"})
MIN_SAMPLES = SAMPLE_RATE * 105 // 100  # whisper.cpp skips input shorter than 1 s: pad to 1.05 s
# Previous-text context carried from one piece into the next, in tokens (whisper.cpp's own
# window-to-window budget is n_text_ctx / 2 = 224, of which one is <|startofprev|>).
MAX_CARRIED_TOKENS = 223


class AbortHandle:
    """Cancels a transcription from any thread: while queued or mid-decode."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._flags: list[AbortFlag] = []
        self._lock = threading.Lock()

    def abort(self) -> None:
        with self._lock:
            self.event.set()
            for flag in self._flags:
                flag.set()

    @property
    def aborted(self) -> bool:
        return self.event.is_set()

    def _attach(self, flag: AbortFlag) -> None:
        with self._lock:
            self._flags.append(flag)
            if self.event.is_set():
                flag.set()


def _scaled_progress(report: ProgressCallback, start: int, end: int, total: int) -> ProgressCallback:
    """Map a chunk's 0–100 % onto the whole input's."""
    def scaled(percent: int) -> None:
        report(min(99, (start + (end - start) * percent // 100) * 100 // max(1, total)))

    return scaled


class ChunkDecoder:
    """Decodes the chunks of one transcription, in order, into ``self.segments``."""

    def __init__(self, context: WhisperContext, state: WhisperState, options: TranscribeOptions, *,
                 language: str, n_threads: int, on_segment: SegmentCallback | None,
                 abort: AbortHandle) -> None:
        self.context, self.state, self.options = context, state, options
        self.language, self.n_threads = language, n_threads
        self.on_segment, self.abort = on_segment, abort
        self.segments: list[Segment] = []
        # the last decoded tokens, timestamps included, as whisper.cpp carries them
        # from window to window: text-only prompts made the next piece's timestamps coarse
        # (whole seconds) and its decoding ~1.6x slower on long_en_a
        self.carried_tokens: list[int] = []
        self._timestamp_begin = C.whisper_token_beg(context.pointer)
        self._eot = C.whisper_token_eot(context.pointer)
        self.start_piece(Timeline([]), origin_ms=0, end_ms=0, on_progress=None)

    def start_piece(self, timeline: Timeline, *, origin_ms: int, end_ms: int,
                    on_progress: ProgressCallback | None) -> None:
        """The next audio to decode is a piece of the input starting at ``origin_ms`` and ending
        at ``end_ms`` (input times), VAD-packed by ``timeline`` (relative to the piece)."""
        self.timeline, self.origin_ms, self.end_ms = timeline, origin_ms, end_ms
        self.on_progress = on_progress

    def _to_input_ms(self, packed_ms: int, *, is_end: bool = False) -> int:
        return self.origin_ms + self.timeline.to_original_ms(packed_ms, is_end=is_end)

    def prompt_tokens(self, prompt: str | None) -> list[int]:
        """The user's prompt, then as much of the carried context as fits (whisper.cpp's order)."""
        head = self.context.tokenize(" " + prompt.strip()) if prompt and prompt.strip() else []
        room = max(0, MAX_CARRIED_TOKENS - len(head))
        return head[-MAX_CARRIED_TOKENS:] + (self.carried_tokens[-room:] if room else [])

    def decode(self, audio: npt.NDArray[np.float32], start: int, end: int, prompt: str | None,
               prompt_tokens: list[int] | None = None) -> int:
        """Decode ``audio[start:end]``; returns how many segments it added. ``prompt_tokens``
        (already including ``prompt``) replace ``prompt`` when given."""
        added_before = len(self.segments)
        restarts = 0
        while (loop_at := self._pass(audio, start, end, prompt, restarts, prompt_tokens)) is not None:
            restart_ms = self._to_input_ms(loop_at * 1000 // SAMPLE_RATE)
            log.info("repetition loop at %.1f s: decoding again from there without the prompt",
                     restart_ms / 1000)
            start, restarts = min(loop_at, end - 1), restarts + 1
        return len(self.segments) - added_before

    def _pass(self, audio: npt.NDArray[np.float32], start: int, end: int, prompt: str | None,
              restarts: int, prompt_tokens: list[int] | None = None) -> int | None:
        """One whisper_full call over ``audio[start:end]``: None, or the sample where a loop began."""
        options = self.options
        if restarts:
            options = options.with_overrides(
                condition_on_previous_text=False,
                temperature=options.temperature + options.temperature_increment * (restarts - 1))
            prompt = effective_prompt(self.options)
            prompt_tokens = None  # a restart drops the carried context with the prompt
        flag = AbortFlag()
        self.abort._attach(flag)
        params = build_full_params(options, language=self.language, n_threads=self.n_threads,
                                   abort_flag=flag, prompt=prompt,
                                   span_ms=(end - start) * 1000 // SAMPLE_RATE)
        if prompt_tokens:
            params.set_prompt_tokens(prompt_tokens)
        offset_ms = start * 1000 // SAMPLE_RATE
        pass_texts: list[str] = []
        loop_start: int | None = None  # sample in ``audio`` where a repetition loop began
        native_read = 0
        guard_loops = restarts < MAX_RESTARTS_PER_CHUNK
        loop_ratio = options.compression_ratio_threshold

        def collect(_n_new: int) -> None:
            nonlocal native_read, loop_start
            for raw in read_segments(self.context, self.state, start=native_read):
                native_read += 1
                if loop_start is not None or raw.text.strip() in NON_SPEECH_MARKERS:  # annotation
                    continue
                if guard_loops and is_repetition_loop(raw.text, pass_texts, loop_ratio):
                    loop_start = start + max(0, raw.t0_cs) * SAMPLE_RATE // 100
                    flag.set()  # stops the pass at its next encoder/decoder step
                    continue
                pass_texts.append(raw.text)
                self.carried_tokens.extend(t.id for t in raw.tokens
                                           if t.id < self._eot or t.id >= self._timestamp_begin)
                del self.carried_tokens[:-MAX_CARRIED_TOKENS]
                segment = self._segment(raw, offset_ms, options.temperature)
                self.segments.append(segment)
                if self.on_segment is not None:
                    self.on_segment(segment)

        params.on_new_segment(collect)
        if self.on_progress is not None:
            params.on_progress(_scaled_progress(self.on_progress, start, end, len(audio)))
        samples = audio[start:end]
        if len(samples) < MIN_SAMPLES:
            samples = np.pad(samples, (0, MIN_SAMPLES - len(samples)))
        try:
            run_full(self.context, self.state, params, samples)
        except Aborted:
            if self.abort.aborted or loop_start is None:
                raise
        collect(0)  # anything the callback did not deliver
        return loop_start

    def _segment(self, raw: RawSegment, offset_ms: int, temperature: float) -> Segment:
        to_input_ms, limit_ms, options = self._to_input_ms, self.end_ms, self.options
        start_ms = min(to_input_ms(offset_ms + raw.t0_cs * 10), limit_ms)
        end_ms = min(max(to_input_ms(offset_ms + raw.t1_cs * 10, is_end=True), start_ms), limit_ms)
        text_tokens = [t for t in raw.tokens if not t.special]
        avg_logprob = sum(t.plog for t in text_tokens) / len(text_tokens) if text_tokens else 0.0
        words = None
        if options.word_timestamps:
            words = words_from_tokens(
                raw.tokens, start_ms, end_ms,
                lambda cs, is_end: to_input_ms(offset_ms + max(0, cs) * 10, is_end=is_end))
        return Segment(
            id=len(self.segments), seek=start_ms // 10, start_ms=start_ms, end_ms=end_ms, text=raw.text,
            tokens=tuple(t.id for t in text_tokens), temperature=temperature,
            avg_logprob=round(avg_logprob, 4), compression_ratio=round(compression_ratio(raw.text), 4),
            no_speech_prob=round(raw.no_speech_prob, 4), words=words,
            speaker_turn_next=raw.speaker_turn_next,
            logprobs=tuple(TokenLogprob(t.text.decode("utf-8", "replace"), round(t.plog, 4), t.text)
                           for t in text_tokens))
