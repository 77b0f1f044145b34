"""Owned handles: WhisperContext (the weights) and WhisperState (one worker's buffers).

Each object owns exactly one native pointer and frees it exactly once: on
``close()``, on leaving a ``with`` block, or at garbage collection. Using a
closed handle raises :class:`HandleClosed` instead of touching freed memory.
A state keeps its context alive; closing a context while states are open is
deferred until the last state closes.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from . import whisper_h as C

DTW_PRESETS: dict[str, int] = {
    "tiny.en": C.WHISPER_AHEADS_TINY_EN, "tiny": C.WHISPER_AHEADS_TINY,
    "base.en": C.WHISPER_AHEADS_BASE_EN, "base": C.WHISPER_AHEADS_BASE,
    "small.en": C.WHISPER_AHEADS_SMALL_EN, "small": C.WHISPER_AHEADS_SMALL,
    "medium.en": C.WHISPER_AHEADS_MEDIUM_EN, "medium": C.WHISPER_AHEADS_MEDIUM,
    "large-v1": C.WHISPER_AHEADS_LARGE_V1, "large-v2": C.WHISPER_AHEADS_LARGE_V2,
    "large-v3": C.WHISPER_AHEADS_LARGE_V3, "large-v3-turbo": C.WHISPER_AHEADS_LARGE_V3_TURBO,
}


class WhisperNativeError(RuntimeError):
    """A whisper.cpp call failed (returned NULL or a non-zero status)."""


class HandleClosed(WhisperNativeError):
    """The handle was closed; its native memory is gone."""


@dataclass(frozen=True)
class ContextOptions:
    use_gpu: bool = True
    flash_attn: bool = True
    gpu_device: int = 0
    dtw_preset: str | None = None  # a DTW_PRESETS key, "top:N", or None for no DTW


@dataclass(frozen=True)
class ModelDims:
    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int
    type_name: str
    multilingual: bool


def _context_params(options: ContextOptions) -> C.whisper_context_params:
    params = C.whisper_context_default_params()
    params.use_gpu = options.use_gpu
    params.flash_attn = options.flash_attn
    params.gpu_device = options.gpu_device
    if options.dtw_preset:
        params.dtw_token_timestamps = True
        if options.dtw_preset.startswith("top:"):
            params.dtw_aheads_preset = C.WHISPER_AHEADS_N_TOP_MOST
            params.dtw_n_top = int(options.dtw_preset[4:])
        elif options.dtw_preset in DTW_PRESETS:
            params.dtw_aheads_preset = DTW_PRESETS[options.dtw_preset]
        else:
            raise ValueError(f"unknown DTW alignment-heads preset {options.dtw_preset!r}")
    return params


class _Owned:
    """One native pointer, freed once by ``_free`` under a lock."""

    _pointer: ctypes.c_void_p | None

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._pointer is None

    def _require(self) -> ctypes.c_void_p:
        pointer = self._pointer
        if pointer is None:
            raise HandleClosed(f"{type(self).__name__} is closed")
        return pointer

    def __enter__(self) -> _Owned:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class WhisperContext(_Owned):
    """The model weights, loaded once with ``_no_state`` and shared by many states."""

    def __init__(self, model_path: str | Path, options: ContextOptions | None = None) -> None:
        super().__init__()
        self.model_path = Path(model_path)
        self.options = options or ContextOptions()
        if not self.model_path.is_file():
            raise WhisperNativeError(f"model file not found: {self.model_path}")
        pointer = C.whisper_init_from_file_with_params_no_state(
            str(self.model_path).encode(), _context_params(self.options))
        if not pointer:
            raise WhisperNativeError(
                f"whisper.cpp could not load {self.model_path} (not a ggml whisper model?)")
        self._pointer = pointer
        self._open_states: weakref.WeakSet[WhisperState] = weakref.WeakSet()
        self._close_requested = False
        self.dims = self._read_dims()

    @property
    def pointer(self) -> C.whisper_context_p:
        return self._require()  # type: ignore[return-value]

    def _read_dims(self) -> ModelDims:
        ctx = self.pointer
        return ModelDims(
            n_vocab=C.whisper_model_n_vocab(ctx), n_audio_ctx=C.whisper_model_n_audio_ctx(ctx),
            n_audio_state=C.whisper_model_n_audio_state(ctx), n_audio_head=C.whisper_model_n_audio_head(ctx),
            n_audio_layer=C.whisper_model_n_audio_layer(ctx), n_text_ctx=C.whisper_model_n_text_ctx(ctx),
            n_text_state=C.whisper_model_n_text_state(ctx), n_text_head=C.whisper_model_n_text_head(ctx),
            n_text_layer=C.whisper_model_n_text_layer(ctx), n_mels=C.whisper_model_n_mels(ctx),
            ftype=C.whisper_model_ftype(ctx),
            type_name=(C.whisper_model_type_readable(ctx) or b"").decode(),
            multilingual=bool(C.whisper_is_multilingual(ctx)),
        )

    def new_state(self) -> WhisperState:
        return WhisperState(self)

    def tokenize(self, text: str) -> list[int]:
        encoded = text.encode("utf-8")
        capacity = max(16, len(encoded) + 8)
        buffer = (C.whisper_token * capacity)()
        count = C.whisper_tokenize(self.pointer, encoded, buffer, capacity)
        if count < 0:
            raise WhisperNativeError(f"tokenize: text too long ({-count} tokens)")
        return list(buffer[:count])

    def token_bytes(self, token_id: int) -> bytes:
        return C.whisper_token_to_str(self.pointer, token_id) or b""

    def special_tokens(self) -> dict[str, int]:
        ctx = self.pointer
        return {"eot": C.whisper_token_eot(ctx), "sot": C.whisper_token_sot(ctx),
                "beg": C.whisper_token_beg(ctx), "solm": C.whisper_token_solm(ctx),
                "prev": C.whisper_token_prev(ctx), "nosp": C.whisper_token_nosp(ctx),
                "not": C.whisper_token_not(ctx), "translate": C.whisper_token_translate(ctx),
                "transcribe": C.whisper_token_transcribe(ctx)}

    def _state_closed(self, state: WhisperState) -> None:
        self._open_states.discard(state)
        if self._close_requested and not self._open_states:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._pointer is None:
                return
            self._close_requested = True
            if any(not s.closed for s in self._open_states):
                return  # the last state to close frees the weights
            pointer, self._pointer = self._pointer, None
        C.whisper_free(pointer)

    def __del__(self) -> None:
        if getattr(self, "_pointer", None) is not None:
            self._open_states = weakref.WeakSet()
            self.close()


class WhisperState(_Owned):
    """Per-worker decoding buffers (KV cache, mel, results) on a shared context."""

    def __init__(self, context: WhisperContext) -> None:
        super().__init__()
        self.context = context
        pointer = C.whisper_init_state(context.pointer)
        if not pointer:
            raise WhisperNativeError("whisper_init_state failed (out of memory?)")
        self._pointer = pointer
        context._open_states.add(self)

    @property
    def pointer(self) -> C.whisper_state_p:
        return self._require()  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            if self._pointer is None:
                return
            pointer, self._pointer = self._pointer, None
        C.whisper_free_state(pointer)
        self.context._state_closed(self)

    def __del__(self) -> None:
        if getattr(self, "_pointer", None) is not None:
            self.close()
