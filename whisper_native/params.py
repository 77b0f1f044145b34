"""Build ``whisper_full_params`` for one call and keep everything it points to alive.

``FullParams`` starts from whisper.cpp's defaults, silences its stdout
printing, and owns every string, token array and callback the struct points
at until it is garbage collected, so one instance must outlive the native
call it is passed to (``run_full`` in results.py does that).

Python callbacks never unwind into C: an exception is stored, the abort flag
is raised so whisper.cpp stops at its next check, and ``raise_pending()``
re-raises it in the caller after the call returns. The abort check itself is
a C function (liblocalwhisper_shim) reading an int, so polling it between
graph nodes never takes the GIL.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

from . import whisper_h as C
from ._loader import load_shim

NewSegmentFn = Callable[[int], None]  # n_new
ProgressFn = Callable[[int], None]  # percent 0..100
LogitsFilterFn = Callable[[Sequence[int], Any], None]  # (recent token ids, logits as ctypes float array)


class AbortFlag:
    """An int in native memory that C polls; ``set()`` asks the running call to stop."""

    def __init__(self) -> None:
        self._cell = ctypes.c_int(0)

    def set(self) -> None:
        self._cell.value = 1

    def is_set(self) -> bool:
        return bool(self._cell.value)

    @property
    def address(self) -> int:
        return ctypes.addressof(self._cell)


_shim = load_shim()
# bool localwhisper_abort_requested(void * flag);
_ABORT_REQUESTED = C.ggml_abort_callback(("localwhisper_abort_requested", _shim))
# bool localwhisper_encoder_may_begin(void * ctx, void * state, void * flag);
_ENCODER_MAY_BEGIN = C.whisper_encoder_begin_callback(("localwhisper_encoder_may_begin", _shim))


class FullParams:
    """One call's ``whisper_full_params`` plus the Python objects it references."""

    def __init__(self, strategy: int = C.WHISPER_SAMPLING_GREEDY,
                 abort_flag: AbortFlag | None = None) -> None:
        self.struct: C.whisper_full_params = C.whisper_full_default_params(strategy)
        self.abort_flag = abort_flag or AbortFlag()
        self._keepalive: list[Any] = [self.abort_flag]
        self.error: BaseException | None = None
        for quiet in ("print_progress", "print_realtime", "print_timestamps", "print_special"):
            setattr(self.struct, quiet, False)
        flag_address = ctypes.c_void_p(self.abort_flag.address)
        self.struct.abort_callback = _ABORT_REQUESTED
        self.struct.abort_callback_user_data = flag_address
        self.struct.encoder_begin_callback = _ENCODER_MAY_BEGIN
        self.struct.encoder_begin_callback_user_data = flag_address

    # --- plain fields -------------------------------------------------------------
    def set(self, **fields: Any) -> FullParams:
        """Set scalar fields by their C names; ``str`` values are encoded and kept alive."""
        for name, value in fields.items():
            if isinstance(value, str):
                value = self._keep(value.encode("utf-8"))
            setattr(self.struct, name, value)
        return self

    def set_greedy(self, best_of: int) -> FullParams:
        self.struct.greedy.best_of = best_of
        return self

    def set_beam_search(self, beam_size: int, patience: float = -1.0) -> FullParams:
        self.struct.beam_search.beam_size = beam_size
        self.struct.beam_search.patience = patience
        return self

    def set_beam_fallback(self, beam_size: int, logprob_threshold: float) -> FullParams:
        """Greedy windows below ``logprob_threshold`` are decoded again with ``beam_size`` beams
        (patch 0005; 0 or 1 = off)."""
        self.struct.fallback_beam_size = beam_size
        self.struct.fallback_beam_logprob_thold = logprob_threshold
        return self

    def set_prompt_tokens(self, tokens: Sequence[int]) -> FullParams:
        array = self._keep((C.whisper_token * len(tokens))(*tokens))
        self.struct.prompt_tokens = ctypes.cast(array, ctypes.POINTER(C.whisper_token))
        self.struct.prompt_n_tokens = len(tokens)
        return self

    def set_vad(self, model_path: str, **vad_params: float) -> FullParams:
        """params.vad (honoured by ``whisper_full`` only, not ``whisper_full_with_state``)."""
        self.set(vad=True, vad_model_path=model_path)
        for name, value in vad_params.items():
            setattr(self.struct.vad_params, name, value)
        return self

    # --- callbacks ------------------------------------------------------------------
    def on_new_segment(self, fn: NewSegmentFn) -> FullParams:
        def trampoline(_ctx: Any, _state: Any, n_new: int, _user: Any) -> None:
            self._guard(fn, n_new)

        self.struct.new_segment_callback = self._keep(C.whisper_new_segment_callback(trampoline))
        return self

    def on_progress(self, fn: ProgressFn) -> FullParams:
        def trampoline(_ctx: Any, _state: Any, progress: int, _user: Any) -> None:
            self._guard(fn, progress)

        self.struct.progress_callback = self._keep(C.whisper_progress_callback(trampoline))
        return self

    def on_logits(self, fn: LogitsFilterFn) -> FullParams:
        """Per-token logits filter (costly: one GIL round trip per decoded token)."""

        def trampoline(_ctx: Any, _state: Any, tokens: Any, n_tokens: int, logits: Any, _user: Any) -> None:
            self._guard(fn, [tokens[i].id for i in range(n_tokens)], logits)

        self.struct.logits_filter_callback = self._keep(C.whisper_logits_filter_callback(trampoline))
        return self

    # --- errors -----------------------------------------------------------------------
    def _guard(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.error is not None:
            return
        try:
            fn(*args)
        except BaseException as exc:  # stored, re-raised by raise_pending() after the call
            self.error = exc
            self.abort_flag.set()

    def raise_pending(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error

    def _keep(self, obj: Any) -> Any:
        self._keepalive.append(obj)
        return obj
