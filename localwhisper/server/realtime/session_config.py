"""A transcription session's settings: parsed from either dialect's update, shown in either.

Beta (``transcription_session.update``)::

    {"input_audio_format": "pcm16", "input_audio_transcription": {"model", "language", "prompt"},
     "turn_detection": {"type": "server_vad", ...} | null, "input_audio_noise_reduction", "include"}

GA (``session.update``)::

    {"type": "transcription", "audio": {"input": {"format": {...}, "transcription": {...},
     "turn_detection": {...} | null, "noise_reduction": ...}}, "include": [...]}

Only the fields present change. ``semantic_vad`` is run as server VAD with a silence
length chosen by its ``eagerness`` (and shown as ``server_vad``). Noise reduction is
stored and echoed but not applied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from localwhisper.errors import InvalidEvent

from .audio_codecs import AudioFormat, parse_beta_format, parse_ga_format

LOGPROBS_INCLUDE = "item.input_audio_transcription.logprobs"
SEMANTIC_SILENCE_MS = {"low": 1200, "medium": 800, "auto": 800, "high": 500}
MAX_PADDING_MS = 10_000


@dataclass(frozen=True)
class TurnDetection:
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    def to_dict(self) -> dict[str, Any]:
        return {"type": "server_vad", **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Transcription:
    model: str | None = None
    language: str | None = None
    prompt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SessionConfig:
    audio_format: AudioFormat = field(default_factory=AudioFormat)
    transcription: Transcription = field(default_factory=Transcription)
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    noise_reduction: dict[str, Any] | None = None
    include: tuple[str, ...] = ()

    @property
    def logprobs(self) -> bool:
        return LOGPROBS_INCLUDE in self.include

    def beta(self) -> dict[str, Any]:
        return {"input_audio_format": self.audio_format.beta,
                "input_audio_transcription": self.transcription.to_dict(),
                "turn_detection": self.turn_detection.to_dict() if self.turn_detection else None,
                "input_audio_noise_reduction": self.noise_reduction, "include": list(self.include)}

    def ga(self) -> dict[str, Any]:
        return {"type": "transcription", "include": list(self.include), "audio": {"input": {
            "format": self.audio_format.ga, "transcription": self.transcription.to_dict(),
            "noise_reduction": self.noise_reduction,
            "turn_detection": self.turn_detection.to_dict() if self.turn_detection else None}}}


def _object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEvent(f"'{param}' must be an object.", code="invalid_value", param=param)
    return value


def _optional_text(value: Any, param: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"'{param}' must be a string.", code="invalid_value", param=param)
    return value


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidEvent(f"'{param}' must be a number from {low:g} to {high:g}.", code="invalid_value",
                           param=param)
    return float(value)


def parse_turn_detection(value: Any, param: str) -> TurnDetection | None:
    if value is None:
        return None
    value = _object(value, param)
    kind = value.get("type", "server_vad")
    defaults = TurnDetection()
    if kind == "semantic_vad":
        eagerness = value.get("eagerness", "auto")
        if eagerness not in SEMANTIC_SILENCE_MS:
            raise InvalidEvent(f"'{param}.eagerness' must be one of {', '.join(SEMANTIC_SILENCE_MS)}.",
                               code="invalid_value", param=f"{param}.eagerness")
        return dataclasses.replace(defaults, silence_duration_ms=SEMANTIC_SILENCE_MS[eagerness])
    if kind != "server_vad":
        raise InvalidEvent(f"Unsupported turn detection type {kind!r}: use 'server_vad' or null.",
                           code="invalid_value", param=f"{param}.type")
    threshold = value.get("threshold")
    prefix = value.get("prefix_padding_ms")
    silence = value.get("silence_duration_ms")
    return TurnDetection(
        threshold=defaults.threshold if threshold is None else _number(threshold, f"{param}.threshold", 0, 1),
        prefix_padding_ms=defaults.prefix_padding_ms if prefix is None else int(
            _number(prefix, f"{param}.prefix_padding_ms", 0, MAX_PADDING_MS)),
        silence_duration_ms=defaults.silence_duration_ms if silence is None else int(
            _number(silence, f"{param}.silence_duration_ms", 0, MAX_PADDING_MS)))


def _transcription(current: Transcription, value: Any, param: str) -> Transcription:
    if value is None:
        return current
    value = _object(value, param)
    changes = {name: _optional_text(value[name], f"{param}.{name}")
               for name in ("model", "language", "prompt") if name in value}
    if changes.get("model", current.model) is None:
        changes.pop("model", None)  # a session always has a model
    return dataclasses.replace(current, **changes)


def _include(value: Any, param: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidEvent(f"'{param}' must be a list of strings.", code="invalid_value", param=param)
    unknown = [item for item in value if item != LOGPROBS_INCLUDE]
    if unknown:
        raise InvalidEvent(f"Unsupported include value(s) {unknown}: only {LOGPROBS_INCLUDE!r}.",
                           code="invalid_value", param=param)
    return tuple(value)


def _noise_reduction(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    value = _object(value, param)
    if value.get("type") not in ("near_field", "far_field"):
        raise InvalidEvent(f"'{param}.type' must be 'near_field' or 'far_field'.", code="invalid_value",
                           param=f"{param}.type")
    return {"type": value["type"]}


def is_ga_shape(session: dict[str, Any]) -> bool:
    return "type" in session or "audio" in session


def apply_update(config: SessionConfig, session: Any) -> SessionConfig:
    """``config`` with the fields of one update's ``session`` object applied (either dialect)."""
    session = _object(session, "session")
    return _apply_ga(config, session) if is_ga_shape(session) else _apply_beta(config, session)


def _apply_beta(config: SessionConfig, session: dict[str, Any]) -> SessionConfig:
    changes: dict[str, Any] = {}
    if "input_audio_format" in session:
        changes["audio_format"] = parse_beta_format(session["input_audio_format"],
                                                    "session.input_audio_format")
    if "input_audio_transcription" in session:
        changes["transcription"] = _transcription(config.transcription, session["input_audio_transcription"],
                                                  "session.input_audio_transcription")
    if "turn_detection" in session:
        changes["turn_detection"] = parse_turn_detection(session["turn_detection"], "session.turn_detection")
    if "input_audio_noise_reduction" in session:
        changes["noise_reduction"] = _noise_reduction(session["input_audio_noise_reduction"],
                                                      "session.input_audio_noise_reduction")
    if "include" in session:
        changes["include"] = _include(session["include"], "session.include")
    return dataclasses.replace(config, **changes)


def _apply_ga(config: SessionConfig, session: dict[str, Any]) -> SessionConfig:
    kind = session.get("type", "transcription")
    if kind != "transcription":
        raise InvalidEvent(f"This server only runs transcription sessions; session.type {kind!r} is not "
                           "supported.", code="unsupported_session_type", param="session.type")
    changes: dict[str, Any] = {}
    audio = _object(session.get("audio", {}), "session.audio")
    incoming = _object(audio.get("input", {}), "session.audio.input")
    where = "session.audio.input"
    if "format" in incoming:
        changes["audio_format"] = parse_ga_format(incoming["format"], f"{where}.format")
    if "transcription" in incoming:
        changes["transcription"] = _transcription(config.transcription, incoming["transcription"],
                                                  f"{where}.transcription")
    if "turn_detection" in incoming:
        changes["turn_detection"] = parse_turn_detection(incoming["turn_detection"],
                                                         f"{where}.turn_detection")
    if "noise_reduction" in incoming:
        changes["noise_reduction"] = _noise_reduction(incoming["noise_reduction"], f"{where}.noise_reduction")
    if "include" in session:
        changes["include"] = _include(session["include"], "session.include")
    return dataclasses.replace(config, **changes)
