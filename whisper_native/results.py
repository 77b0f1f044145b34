"""Run ``whisper_full_with_state`` and read its results.

Times come out as integers exactly as whisper.cpp keeps them (centiseconds).
Token text can end in the middle of a UTF-8 sequence, so a segment's text is
the join of its tokens' bytes, decoded once with ``errors="replace"``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import whisper_h as C
from .context import WhisperContext, WhisperNativeError, WhisperState
from .params import FullParams


class Aborted(WhisperNativeError):
    """The call stopped because its abort flag was set."""


@dataclass(frozen=True)
class RawToken:
    id: int
    text: bytes
    p: float
    plog: float
    t0_cs: int  # -1 when whisper.cpp computed no token timestamp
    t1_cs: int
    t_dtw_cs: int  # -1 without DTW
    special: bool


@dataclass(frozen=True)
class RawSegment:
    index: int
    t0_cs: int
    t1_cs: int
    text: str
    tokens: tuple[RawToken, ...]
    no_speech_prob: float
    speaker_turn_next: bool


def as_samples(samples: npt.ArrayLike) -> npt.NDArray[np.float32]:
    array = np.ascontiguousarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError("samples must be 1-D float32 mono 16 kHz")
    return array


def run_full(context: WhisperContext, state: WhisperState, params: FullParams,
             samples: npt.NDArray[np.float32]) -> None:
    """``whisper_full_with_state``; the GIL is released for the whole call."""
    samples = as_samples(samples)
    pointer = samples.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    status = C.whisper_full_with_state(context.pointer, state.pointer, params.struct, pointer, len(samples))
    params.raise_pending()  # a callback's exception wins over the abort it caused
    if params.abort_flag.is_set():
        raise Aborted("transcription aborted")
    if status != 0:
        raise WhisperNativeError(f"whisper_full_with_state failed with status {status}")


def segment_count(state: WhisperState) -> int:
    return int(C.whisper_full_n_segments_from_state(state.pointer))


def detected_language_id(state: WhisperState) -> int:
    return int(C.whisper_full_lang_id_from_state(state.pointer))


def read_segment(context: WhisperContext, state: WhisperState, index: int, eot_id: int) -> RawSegment:
    state_p, ctx_p = state.pointer, context.pointer
    tokens: list[RawToken] = []
    for i_token in range(C.whisper_full_n_tokens_from_state(state_p, index)):
        data = C.whisper_full_get_token_data_from_state(state_p, index, i_token)
        text = C.whisper_full_get_token_text_from_state(ctx_p, state_p, index, i_token) or b""
        tokens.append(RawToken(
            id=data.id, text=text, p=data.p, plog=data.plog, t0_cs=data.t0, t1_cs=data.t1,
            t_dtw_cs=data.t_dtw, special=data.id >= eot_id,
        ))
    text_bytes = b"".join(t.text for t in tokens if not t.special)
    return RawSegment(
        index=index,
        t0_cs=int(C.whisper_full_get_segment_t0_from_state(state_p, index)),
        t1_cs=int(C.whisper_full_get_segment_t1_from_state(state_p, index)),
        text=text_bytes.decode("utf-8", errors="replace"),
        tokens=tuple(tokens),
        no_speech_prob=float(C.whisper_full_get_segment_no_speech_prob_from_state(state_p, index)),
        speaker_turn_next=bool(C.whisper_full_get_segment_speaker_turn_next_from_state(state_p, index)),
    )


def read_segments(context: WhisperContext, state: WhisperState, start: int = 0) -> list[RawSegment]:
    eot_id = C.whisper_token_eot(context.pointer)
    return [read_segment(context, state, i, eot_id) for i in range(start, segment_count(state))]

