"""Silero VAD through ``whisper_vad_*``: an owned context and speech spans.

``whisper_full_with_state`` ignores ``params.vad``, so pooled transcription
runs VAD here first and transcribes the speech itself. A VAD context carries
recurrent state, so calls on one ``VadModel`` are serialised by a lock.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from . import whisper_h as C
from .context import HandleClosed, WhisperNativeError
from .results import as_samples


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5
    min_speech_duration_ms: int = 250
    min_silence_duration_ms: int = 100
    max_speech_duration_s: float = 30.0
    speech_pad_ms: int = 30
    samples_overlap: float = 0.1


@dataclass(frozen=True)
class SpeechSpan:
    """Speech from ``start`` to ``end`` (sample indices at 16 kHz, end exclusive)."""

    start: int
    end: int


class VadModel:
    def __init__(self, model_path: str | Path, n_threads: int = 1, use_gpu: bool = False) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise WhisperNativeError(f"VAD model not found: {self.model_path}")
        params = C.whisper_vad_default_context_params()
        params.n_threads = n_threads
        params.use_gpu = use_gpu
        pointer = C.whisper_vad_init_from_file_with_params(str(self.model_path).encode(), params)
        if not pointer:
            raise WhisperNativeError(f"could not load VAD model {self.model_path}")
        self._pointer: C.whisper_vad_context_p | None = pointer
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._pointer is None

    def speech_spans(self, samples: npt.ArrayLike, params: VadParams | None = None) -> list[SpeechSpan]:
        params = params or VadParams()
        audio = as_samples(samples)
        native_params = C.whisper_vad_default_params()
        for name in ("threshold", "min_speech_duration_ms", "min_silence_duration_ms",
                     "max_speech_duration_s", "speech_pad_ms", "samples_overlap"):
            setattr(native_params, name, getattr(params, name))
        pointer = audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        with self._lock:
            if self._pointer is None:
                raise HandleClosed("VadModel is closed")
            segments = C.whisper_vad_segments_from_samples(self._pointer, native_params, pointer, len(audio))
            if not segments:
                raise WhisperNativeError("whisper_vad_segments_from_samples failed")
            try:
                count = C.whisper_vad_segments_n_segments(segments)
                spans = []
                for i in range(count):
                    t0_cs = C.whisper_vad_segments_get_segment_t0(segments, i)
                    t1_cs = C.whisper_vad_segments_get_segment_t1(segments, i)
                    start = max(0, round(t0_cs * C.WHISPER_SAMPLE_RATE / 100))
                    end = min(len(audio), round(t1_cs * C.WHISPER_SAMPLE_RATE / 100))
                    if end > start:
                        spans.append(SpeechSpan(start, end))
            finally:
                C.whisper_vad_free_segments(segments)
        return spans

    def frame_probabilities(self, samples: npt.ArrayLike, *, reset: bool = False) -> npt.NDArray[np.float32]:
        """Silero's speech probability per 512-sample frame (32 ms at 16 kHz) of ``samples``.

        The recurrent state carries over from the previous call unless ``reset``, so a stream
        fed in whole frames gets the probabilities one call over all of it would; a partial
        last frame is zero-padded (feed whole frames to keep the stream exact).
        """
        audio = as_samples(samples)
        if len(audio) == 0:
            return np.zeros(0, dtype=np.float32)
        pointer = audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        with self._lock:
            if self._pointer is None:
                raise HandleClosed("VadModel is closed")
            if reset:
                C.whisper_vad_reset_state(self._pointer)
            if not C.whisper_vad_detect_speech_no_reset(self._pointer, pointer, len(audio)):
                raise WhisperNativeError("whisper_vad_detect_speech_no_reset failed")
            count = C.whisper_vad_n_probs(self._pointer)
            probs = np.ctypeslib.as_array(C.whisper_vad_probs(self._pointer), shape=(count,))
            return np.array(probs, dtype=np.float32)

    def close(self) -> None:
        with self._lock:
            pointer, self._pointer = self._pointer, None
        if pointer is not None:
            C.whisper_vad_free(pointer)

    def __enter__(self) -> VadModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_pointer", None) is not None:
            self.close()


def speech_samples(audio: npt.NDArray[np.float32], spans: list[SpeechSpan]) -> npt.NDArray[np.float32]:
    if not spans:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([audio[s.start:s.end] for s in spans])
