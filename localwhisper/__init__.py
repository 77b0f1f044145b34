"""localwhisper: OpenAI-compatible speech-to-text on whisper.cpp, as a library.

    from localwhisper import Model
    with Model("models/ggml-base.bin") as model:
        result = model.transcribe("talk.mp3", word_timestamps=True)
        print(result.text)

Engine classes load the native library on first use (lazy attributes).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import (
    AudioTooLong,
    InvalidAudio,
    InvalidRequest,
    InvalidValue,
    LocalWhisperError,
    ModelNotFound,
    ServerBusy,
    TranscriptionAborted,
)
from .types import (
    Segment,
    TokenLogprob,
    TranscribeOptions,
    Transcription,
    TranscriptionInfo,
    VadOptions,
    Word,
)

__version__ = "0.1.0"

_LAZY = {
    "Model": "transcribe.engine", "AbortHandle": "transcribe.chunk_decoder",
    "ModelRegistry": "models.registry", "EngineSettings": "models.registry",
    "TranscriptionStream": "transcribe.streaming", "decode_audio": "audio.decode",
    "AudioLimits": "audio.limits",
}

__all__ = [
    *_LAZY, "AudioTooLong", "InvalidAudio", "InvalidRequest", "InvalidValue", "LocalWhisperError",
    "ModelNotFound", "Segment", "ServerBusy", "TokenLogprob", "TranscribeOptions", "Transcription",
    "TranscriptionAborted", "TranscriptionInfo", "VadOptions", "Word", "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
