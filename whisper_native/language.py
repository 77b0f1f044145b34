"""Language tables and detection (``whisper_lang_*``)."""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np
import numpy.typing as npt

from . import whisper_h as C
from .context import WhisperContext, WhisperNativeError, WhisperState
from .results import as_samples


@cache
def language_codes() -> tuple[str, ...]:
    """Codes by id, e.g. ("en", "zh", ...)."""
    return tuple((C.whisper_lang_str(i) or b"").decode() for i in range(C.whisper_lang_max_id() + 1))


def language_id(code: str) -> int:
    """Id of a code or full name ("en", "english"); -1 when unknown."""
    return int(C.whisper_lang_id(code.encode()))


def language_name(code: str) -> str:
    lang_id = language_id(code)
    if lang_id < 0:
        raise KeyError(code)
    return (C.whisper_lang_str_full(lang_id) or b"").decode()


def detect_language(context: WhisperContext, state: WhisperState, samples: npt.ArrayLike,
                    n_threads: int, offset_ms: int = 0) -> list[tuple[str, float]]:
    """(code, probability) for every language, most likely first.

    Computes the mel of ``samples`` into ``state`` and runs one encoder pass
    on its first 30 s (from ``offset_ms``).
    """
    audio = as_samples(samples)
    pointer = audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    if C.whisper_pcm_to_mel_with_state(context.pointer, state.pointer, pointer, len(audio), n_threads) != 0:
        raise WhisperNativeError("whisper_pcm_to_mel_with_state failed")
    codes = language_codes()
    probs = np.zeros(len(codes), dtype=np.float32)
    status = C.whisper_lang_auto_detect_with_state(
        context.pointer, state.pointer, offset_ms, n_threads,
        probs.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    if status < 0:
        raise WhisperNativeError(f"language detection failed (status {status})")
    order = np.argsort(-probs)
    return [(codes[i], float(probs[i])) for i in order]
