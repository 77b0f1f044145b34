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

import json
from importlib import import_module
from typing import Any

from . import _loader

_LAZY = {
    "WhisperContext": "context", "WhisperState": "context", "ContextOptions": "context",
    "WhisperNativeError": "context", "HandleClosed": "context", "ModelDims": "context",
    "FullParams": "params", "AbortFlag": "params",
    "VadModel": "vad", "VadParams": "vad", "SpeechSpan": "vad",
    "Aborted": "results", "RawSegment": "results", "RawToken": "results",
    "run_full": "results", "read_segments": "results", "read_segment": "results",
    "detect_language": "language", "language_codes": "language", "language_id": "language",
    "Device": "devices", "DevicePlan": "devices", "DeviceUnavailable": "devices", "backends": "devices",
    "gpu_devices": "devices", "list_devices": "devices", "parse_device": "devices", "plan_device": "devices",
}

__all__ = [*_LAZY, "build_info", "cpu_variant", "cpu_variant_choice", "system_info", "version"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version() -> str:
    """whisper.cpp version compiled into libwhisper, e.g. "1.8.5"."""
    from . import whisper_h

    return whisper_h.whisper_version().decode()


def system_info() -> str:
    """whisper.cpp's system info line, the CPU variant loaded, the GPUs and the engine patches applied."""
    from . import whisper_h

    info = whisper_h.whisper_print_system_info().decode().strip()
    variant = cpu_variant()
    if variant:
        info += f" | CPU_VARIANT = {variant}"
    gpus = import_module(".devices", __name__).gpu_devices()
    info += f" | GPU = {', '.join(gpu.label() for gpu in gpus) or 'none'}"
    patches = [patch["name"] for patch in build_info().get("patches", [])]
    return info + f" | PATCHES = {','.join(patches) or 'none'}"


def cpu_variant() -> str | None:
    """Which ``libggml-cpu-<variant>`` module this process loaded, e.g. "zen4"."""
    choice = _loader.variant_choice()
    return choice.name if choice else None


def cpu_variant_choice() -> dict[str, Any] | None:
    """The CPU variant, its ggml features, why it was chosen, probe time, cache use."""
    choice = _loader.variant_choice()
    return choice.as_dict() if choice else None


def build_info() -> dict[str, Any]:
    """The build's record: engine version, sdist and patched-tree digests, applied patches."""
    path = _loader.library_dir() / "build-info.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"patches": [], "source": f"unknown ({path.name} missing)"}
    for patch in record.get("patches", []):
        patch.pop("path", None)  # the build machine's path means nothing here
    return record
