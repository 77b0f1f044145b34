"""ctypes binding of whisper.cpp, in three strata.

1. raw declarations: ``whisper_h`` (functions) over ``_whisper_types`` (structs,
   enums, callback types), loaded by ``_loader``;
2. owned handles: ``context`` (WhisperContext, WhisperState), ``params``
   (FullParams, AbortFlag), ``vad`` (VadModel);
3. readers: ``results`` and ``language``.

The native library is loaded on first use, not at import, so tools that only
need paths (``_loader.library_dir``) work before it is built.
"""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

_LAZY = {
    "WhisperContext": "context", "WhisperState": "context", "ContextOptions": "context",
    "WhisperNativeError": "context", "HandleClosed": "context", "ModelDims": "context",
    "FullParams": "params", "AbortFlag": "params",
    "VadModel": "vad", "VadParams": "vad", "SpeechSpan": "vad",
    "Aborted": "results", "RawSegment": "results", "RawToken": "results",
    "run_full": "results", "read_segments": "results", "read_segment": "results",
    "detect_language": "language", "language_codes": "language", "language_id": "language",
}

__all__ = [*_LAZY, "cpu_variant", "system_info", "version"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version() -> str:
    """whisper.cpp version compiled into libwhisper, e.g. "1.8.5"."""
    from . import whisper_h

    return whisper_h.whisper_version().decode()


def system_info() -> str:
    """whisper.cpp's system info line plus the CPU backend variant ggml loaded."""
    from . import whisper_h

    info = whisper_h.whisper_print_system_info().decode().strip()
    variant = cpu_variant()
    return f"{info} | CPU_VARIANT = {variant}" if variant else info


def cpu_variant() -> str | None:
    """Which ``libggml-cpu-<variant>`` module ggml loaded (Linux), e.g. "zen4"."""
    from . import whisper_h  # noqa: F401  (ensures the backends are loaded)

    try:
        with open("/proc/self/maps") as maps:
            found = re.findall(r"libggml-cpu-([\w.-]+?)\.so", maps.read())
    except OSError:
        return None
    return found[0] if found else None
