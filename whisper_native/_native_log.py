"""Route whisper.cpp / ggml log lines into Python ``logging``.

Logger ``whisper_native.cpp`` gets every line at its mapped level; the package
logger carries a NullHandler, so nothing reaches stdout/stderr unless the
application configures logging (``--log-level debug`` in the CLI does).
"""

from __future__ import annotations

import ctypes
import logging

from ._whisper_types import (
    GGML_LOG_LEVEL_CONT,
    GGML_LOG_LEVEL_DEBUG,
    GGML_LOG_LEVEL_ERROR,
    GGML_LOG_LEVEL_INFO,
    GGML_LOG_LEVEL_WARN,
    ggml_log_callback,
)

logger = logging.getLogger("whisper_native.cpp")
logging.getLogger("whisper_native").addHandler(logging.NullHandler())

_LEVELS = {
    GGML_LOG_LEVEL_DEBUG: logging.DEBUG,
    GGML_LOG_LEVEL_INFO: logging.DEBUG,  # load chatter: per-tensor and per-buffer lines
    GGML_LOG_LEVEL_WARN: logging.WARNING,
    GGML_LOG_LEVEL_ERROR: logging.ERROR,
}
_last_level = logging.DEBUG
# whisper.cpp reports a requested abort as an error (an abort stops a graph, which then "fails");
# it is the expected end of a cancel, and a real failure still raises from run_full
_EXPECTED = (b"encoder_begin_callback returned false", b"failed to encode", b"failed to decode")


def _on_log(level: int, text: bytes | None, _user_data: int | None) -> None:
    global _last_level
    try:
        py_level = _last_level if level == GGML_LOG_LEVEL_CONT else _LEVELS.get(level, logging.INFO)
        if text and any(marker in text for marker in _EXPECTED):
            py_level = logging.INFO
        _last_level = py_level
        if text and logger.isEnabledFor(py_level):
            message = text.decode("utf-8", errors="replace").rstrip("\n")
            if message:
                logger.log(py_level, "%s", message)
    except Exception:  # a logging failure must never unwind into C
        pass


# Kept alive for the life of the process: C holds this pointer.
LOG_CALLBACK = ggml_log_callback(_on_log)


def install(library: ctypes.CDLL, setter_name: str) -> None:
    """Point ``<setter_name>(ggml_log_callback, void *)`` of ``library`` at our router."""
    setter = getattr(library, setter_name)
    setter.argtypes = [ggml_log_callback, ctypes.c_void_p]
    setter.restype = None
    setter(LOG_CALLBACK, None)
