"""``Model``: the friendly transcription API over pooled whisper.cpp states.

``Model.transcribe(audio, **options)`` decodes any input to 16 kHz mono,
optionally keeps only the speech (Silero VAD, remapped back to the original
timeline), resolves the language (given, configured, or detected with
probabilities), and runs ``whisper_full_with_state`` on a leased state with
the GIL released. Segments stream out through ``on_segment`` as whisper.cpp
produces them; ``AbortHandle.abort()`` stops the native call at its next
graph step.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from localwhisper import languages
from localwhisper.audio import AudioLimits, AudioSource, stream_audio
from localwhisper.audio.loudness import level_for_vad
from localwhisper.audio.timeline import CHUNK_SECONDS, CUT_SEARCH_SECONDS, SAMPLE_RATE, Timeline, audio_pieces
from localwhisper.errors import InvalidValue, ModelLoadError, NativeLibraryError, TranscriptionAborted
from localwhisper.transcribe.chunk_decoder import (
    MIN_SAMPLES,
    AbortHandle,
    ChunkDecoder,
    ProgressCallback,
    SegmentCallback,
)
from localwhisper.transcribe.decoding import effective_prompt
from localwhisper.transcribe.pool import PoolStats, StatePool, plan_parallelism
from localwhisper.transcribe.streaming import TranscriptionStream
from localwhisper.types import Segment, TranscribeOptions, Transcription, TranscriptionInfo
from whisper_native import (
    Aborted,
    ContextOptions,
    ModelDims,
    VadModel,
    VadParams,
    WhisperContext,
    WhisperNativeError,
    WhisperState,
    detect_language,
)

DETECT_WINDOW_SAMPLES = SAMPLE_RATE * 30
STREAM_BLOCK_SAMPLES = SAMPLE_RATE * 30  # decoded audio is handed over in blocks of this size


def _piece_progress(report: ProgressCallback | None, origin: int, end: int, expected: int
                    ) -> ProgressCallback | None:
    """A piece's 0–100 % as the whole input's, against the duration the headers promise."""
    if report is None:
        return None
    total = max(expected, end, 1)

    def scaled(percent: int) -> None:
        report(min(99, (origin + (end - origin) * percent // 100) * 100 // total))

    return scaled


def dtw_preset_for(dims: ModelDims) -> str | None:
    """whisper.cpp's alignment-heads preset for a model shape, or None if unknown."""
    suffix = ".en" if dims.n_vocab == 51864 else ""
    by_layers = {4: "tiny", 6: "base", 12: "small", 24: "medium"}
    if dims.n_audio_layer in by_layers:
        return by_layers[dims.n_audio_layer] + suffix
    if dims.n_audio_layer == 32:
        if dims.n_text_layer == 4:
            return "large-v3-turbo"
        return "large-v3" if dims.n_mels == 128 else "large-v2"
    return None


def validate_options(options: TranscribeOptions, multilingual: bool) -> str | None:
    """Check ranges; return the language code (None = detect)."""
    if options.beam_size is not None and not 1 <= options.beam_size <= 16:
        raise InvalidValue("beam_size must be between 1 and 16", param="beam_size")
    if not 1 <= options.best_of <= 16:
        raise InvalidValue("best_of must be between 1 and 16", param="best_of")
    if not 0.0 <= options.temperature <= 1.0:
        raise InvalidValue("temperature must be between 0 and 1", param="temperature")
    if not 0.0 <= options.temperature_increment <= 1.0:
        raise InvalidValue("temperature_increment must be between 0 and 1", param="temperature_increment")
    if options.task not in ("transcribe", "translate"):
        raise InvalidValue("task must be 'transcribe' or 'translate'", param="task")
    if options.n_threads is not None and not 1 <= options.n_threads <= 256:
        raise InvalidValue("n_threads must be between 1 and 256", param="n_threads")
    if options.max_segment_chars < 0 or options.max_tokens_per_segment < 0 or options.audio_ctx < 0:
        raise InvalidValue("segment limits and audio_ctx must be >= 0")
    code = None
    if options.language and options.language.lower() != "auto":
        code = languages.to_code(options.language)
        if code is None:
            raise InvalidValue(f"unknown language {options.language!r}", param="language")
    if not multilingual:
        if code not in (None, "en"):
            raise InvalidValue(f"this model is English-only; language {options.language!r} is not supported",
                               param="language")
        if options.task == "translate":
            raise InvalidValue("this model is English-only and cannot translate; use a multilingual model",
                               param="model")
        code = "en"
    return code


class Model:
    """One loaded whisper model: shared weights, a pool of states, optional VAD."""

    def __init__(self, model_path: str | Path, *, name: str | None = None, n_states: int | None = None,
                 n_threads: int | None = None, max_queue: int = 64, vad_model_path: str | Path | None = None,
                 default_options: TranscribeOptions | None = None, default_language: str | None = None,
                 context_options: ContextOptions | None = None, audio_limits: AudioLimits | None = None,
                 word_timestamps_method: str = "dtw") -> None:
        started = time.perf_counter()
        self.model_path = Path(model_path)
        self.name = name or self.model_path.stem
        try:
            self.context = WhisperContext(self.model_path, context_options)
        except WhisperNativeError as exc:
            raise ModelLoadError(str(exc)) from exc
        states, threads = plan_parallelism(n_states, n_threads)
        self.n_threads = threads
        self.pool = StatePool(self.context, max_states=states, max_queue=max_queue)
        self.default_options = default_options or TranscribeOptions()
        self.default_language = default_language
        self.audio_limits = audio_limits or AudioLimits()
        self.vad_model_path = Path(vad_model_path) if vad_model_path else None
        self._vad: VadModel | None = None
        self._vad_lock = threading.Lock()
        self.context_options = context_options or ContextOptions()
        self.word_timestamps_method = word_timestamps_method
        self._aligner: WhisperContext | None = None
        self._aligner_lock = threading.Lock()
        self.multilingual = self.context.dims.multilingual
        # long input is transcribed in pieces of about this length, cut at quiet moments
        self.chunk_samples = CHUNK_SECONDS * SAMPLE_RATE
        self.cut_search_samples = CUT_SEARCH_SECONDS * SAMPLE_RATE
        self.load_seconds = time.perf_counter() - started

    # --- public API -----------------------------------------------------------------
    def transcribe(self, audio: AudioSource, options: TranscribeOptions | None = None, *,
                   on_segment: SegmentCallback | None = None, on_progress: ProgressCallback | None = None,
                   abort: AbortHandle | None = None, queue_timeout_s: float | None = None,
                   **overrides: Any) -> Transcription:
        """Transcribe (or translate) ``audio``: bytes, a path, a binary file, or a float array."""
        options = options or self.default_options
        if overrides:
            options = options.with_overrides(**overrides)
        language = validate_options(options, self.multilingual)
        header: dict[str, int] = {}
        # Decoded as it is transcribed, a piece at a time: memory is O(piece), not O(duration).
        blocks = stream_audio(audio, limits=self.audio_limits, block_samples=STREAM_BLOCK_SAMPLES,
                              header=header)
        with contextlib.closing(blocks):
            first = next(blocks)  # a bad input fails here, before it waits for a state
            abort = abort or AbortHandle()
            started = time.perf_counter()
            context = self._alignment_context() if options.word_timestamps else self.context
            with self.pool.lease(timeout_s=queue_timeout_s, cancelled=abort.event, context=context) as state:
                try:
                    return self._run(context, state, itertools.chain([first], blocks), options, language,
                                     on_segment, on_progress, abort, started,
                                     header.get("expected_samples", 0))
                except Aborted as exc:
                    raise TranscriptionAborted("transcription aborted") from exc
                except WhisperNativeError as exc:
                    raise NativeLibraryError(str(exc)) from exc

    def stream(self, audio: AudioSource, options: TranscribeOptions | None = None, **overrides: Any
               ) -> TranscriptionStream:
        """Iterate segments as they are decoded; ``.result`` holds the Transcription afterwards."""
        return TranscriptionStream(self, audio, options, overrides)

    def detect_language(self, audio: AudioSource) -> tuple[str, float, list[tuple[str, float]]]:
        if not self.multilingual:
            return "en", 1.0, [("en", 1.0)]
        with contextlib.closing(stream_audio(audio, limits=self.audio_limits,
                                             block_samples=DETECT_WINDOW_SAMPLES)) as blocks:
            samples = next(blocks)  # the first 30 s are all detection reads
        with self.pool.lease() as state:
            probs = self._detect(self.context, state, samples)
        return probs[0][0], probs[0][1], probs

    def stats(self) -> PoolStats:
        return self.pool.stats()

    def close(self) -> None:
        self.pool.close()
        with self._vad_lock:
            if self._vad is not None:
                self._vad.close()
                self._vad = None

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------
    def _vad_model(self) -> VadModel:
        with self._vad_lock:
            if self._vad is None:
                if self.vad_model_path is None or not self.vad_model_path.is_file():
                    raise InvalidValue(
                        f"VAD requested but no VAD model is installed (expected {self.vad_model_path}); "
                        "run `localwhisper models ensure-defaults`", param="vad")
                self._vad = VadModel(self.vad_model_path, n_threads=1)
            return self._vad

    def _timeline(self, samples: npt.NDArray[np.float32], options: TranscribeOptions) -> Timeline:
        if not options.vad:
            return Timeline.identity(len(samples))
        vad_params = VadParams(**asdict(options.vad_options))
        # Silero misses quiet speech; it decides on a levelled copy (whisper decodes the original)
        spans = self._vad_model().speech_spans(level_for_vad(samples), vad_params)
        return Timeline([(s.start, s.end) for s in spans])

    def _alignment_context(self) -> WhisperContext:
        """A second context with DTW alignment heads (flash attention off), made on first use.

        DTW gives word end times within ~0.1 s where whisper.cpp's token timestamps
        stretch the last word to the segment end; it needs flash attention off,
        so plain transcription keeps the faster context.
        """
        preset = dtw_preset_for(self.context.dims) if self.word_timestamps_method == "dtw" else None
        if preset is None:
            return self.context
        with self._aligner_lock:
            if self._aligner is None:
                options = ContextOptions(use_gpu=self.context_options.use_gpu, flash_attn=False,
                                         gpu_device=self.context_options.gpu_device, dtw_preset=preset)
                try:
                    self._aligner = WhisperContext(self.model_path, options)
                except WhisperNativeError as exc:
                    raise ModelLoadError(str(exc)) from exc
            return self._aligner

    def _detect(self, context: WhisperContext, state: WhisperState, samples: npt.NDArray[np.float32]
                ) -> list[tuple[str, float]]:
        window = samples[:DETECT_WINDOW_SAMPLES]
        if len(window) < MIN_SAMPLES:
            window = np.pad(window, (0, MIN_SAMPLES - len(window)))
        return detect_language(context, state, window, self.n_threads)

    def _run(self, context: WhisperContext, state: WhisperState, blocks: Iterator[npt.NDArray[np.float32]],
             options: TranscribeOptions, language: str | None, on_segment: SegmentCallback | None,
             on_progress: ProgressCallback | None, abort: AbortHandle, started: float,
             expected_samples: int) -> Transcription:
        code = language or (self.default_language if options.language is None else None)
        language_probability, all_probs = 1.0, None
        decoder = ChunkDecoder(context, state, options, language=code or "en",
                               n_threads=options.n_threads or self.n_threads, on_segment=on_segment,
                               abort=abort)
        prompt = effective_prompt(options)
        carry = False  # from the second piece on: the previous piece's tokens as the prompt
        end = speech = 0
        for origin, piece in audio_pieces(blocks, self.chunk_samples, self.cut_search_samples):
            if abort.aborted:
                raise Aborted("aborted between chunks")
            end = origin + len(piece)
            timeline = self._timeline(piece, options)
            packed = piece if not options.vad else timeline.pack(piece)
            speech += timeline.speech_samples
            if len(packed) == 0:  # VAD found no speech here: nothing to decode, nothing to hallucinate
                continue
            if len(packed) < MIN_SAMPLES:
                packed = np.pad(packed, (0, MIN_SAMPLES - len(packed)))
            if code is None:  # detected on the first 30 s of speech
                all_probs = self._detect(context, state, packed)
                code, language_probability = all_probs[0]
                decoder.language = code
            decoder.start_piece(timeline, origin_ms=origin * 1000 // SAMPLE_RATE,
                                end_ms=end * 1000 // SAMPLE_RATE,
                                on_progress=_piece_progress(on_progress, origin, end, expected_samples))
            tokens = decoder.prompt_tokens(prompt) if carry else None
            added = decoder.decode(packed, 0, len(packed), prompt, tokens)
            del piece, packed  # let the piece go before the next one is assembled
            # carry the piece's last tokens into the next one, as a decode window would
            carry = options.condition_on_previous_text and added > 0
        if on_progress is not None:
            on_progress(100)
        return self._result(tuple(decoder.segments), code or self.default_language or "en",
                            language_probability, all_probs, end * 1000 // SAMPLE_RATE,
                            speech * 1000 // SAMPLE_RATE, options, started)

    def _result(self, segments: tuple[Segment, ...], language: str, language_probability: float,
                all_probs: list[tuple[str, float]] | None, duration_ms: int, speech_ms: int,
                options: TranscribeOptions, started: float) -> Transcription:
        info = TranscriptionInfo(
            language=language, language_probability=round(language_probability, 4),
            all_language_probs=tuple(all_probs) if all_probs else None, duration_ms=duration_ms,
            duration_after_vad_ms=speech_ms, options=options, model=self.name,
            processing_ms=int((time.perf_counter() - started) * 1000))
        return Transcription(segments=segments, info=info, task=options.task)
