"""Options and result types of the friendly API.

Field names follow faster-whisper and OpenAI ``verbose_json`` so the server can
dump results directly. Times are integer milliseconds (``*_ms``) internally;
the float-second ``start``/``end`` properties exist only for the edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Task = Literal["transcribe", "translate"]


@dataclass(frozen=True)
class VadOptions:
    """Silero VAD parameters (whisper.cpp ``whisper_vad_params``)."""

    threshold: float = 0.5
    min_speech_duration_ms: int = 250
    min_silence_duration_ms: int = 100
    max_speech_duration_s: float = 30.0
    speech_pad_ms: int = 30
    samples_overlap: float = 0.1


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that shapes one transcription. Built fresh into native params per call."""

    language: str | None = None  # ISO code or English name; None = auto-detect
    task: Task = "transcribe"
    initial_prompt: str | None = None
    carry_initial_prompt: bool = False
    hotwords: str | None = None  # appended to the prompt of every window
    temperature: float = 0.0
    temperature_increment: float = 0.2  # fallback step; 0 disables fallback
    compression_ratio_threshold: float | None = 2.4  # fallback trigger and repetition-loop guard
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    beam_size: int | None = None  # None = the default policy (transcribe/decoding.py); 1 = greedy
    best_of: int = 5  # candidates when sampling at temperature > 0
    patience: float = 1.0
    length_penalty: float | None = None
    suppress_blank: bool = True
    suppress_non_speech_tokens: bool = False
    suppress_regex: str | None = None
    condition_on_previous_text: bool = True
    max_initial_timestamp: float = 1.0
    word_timestamps: bool = False
    max_segment_chars: int = 0  # 0 = no limit (whisper.cpp max_len)
    split_on_word: bool = True
    max_tokens_per_segment: int = 0
    vad: bool = False
    vad_options: VadOptions = field(default_factory=VadOptions)
    n_threads: int | None = None  # None = the pool's share of the cores
    audio_ctx: int = 0

    def with_overrides(self, **overrides: Any) -> TranscribeOptions:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown transcribe option(s): {', '.join(unknown)}")
        return replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ms_to_seconds(value_ms: int) -> float:
    return round(value_ms / 1000.0, 3)


@dataclass(frozen=True)
class Word:
    start_ms: int
    end_ms: int
    word: str
    probability: float

    @property
    def start(self) -> float:
        return ms_to_seconds(self.start_ms)

    @property
    def end(self) -> float:
        return ms_to_seconds(self.end_ms)

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end,
                "probability": round(self.probability, 4)}


@dataclass(frozen=True)
class TokenLogprob:
    """One decoded text token: its text, natural-log probability and raw UTF-8 bytes (a token
    may hold part of a multi-byte character), as OpenAI's ``include[]=logprobs`` reports it."""

    token: str
    logprob: float
    utf8: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob, "bytes": list(self.utf8)}


@dataclass(frozen=True)
class Segment:
    id: int
    seek: int  # window offset in centiseconds, as OpenAI reports it
    start_ms: int
    end_ms: int
    text: str
    tokens: tuple[int, ...]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: tuple[Word, ...] | None = None
    speaker_turn_next: bool = False
    logprobs: tuple[TokenLogprob, ...] = ()

    @property
    def start(self) -> float:
        return ms_to_seconds(self.start_ms)

    @property
    def end(self) -> float:
        return ms_to_seconds(self.end_ms)

    def to_dict(self, *, include_words: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "seek": self.seek, "start": self.start, "end": self.end,
            "text": self.text, "tokens": list(self.tokens), "temperature": self.temperature,
            "avg_logprob": self.avg_logprob, "compression_ratio": self.compression_ratio,
            "no_speech_prob": self.no_speech_prob,
        }
        if include_words:
            out["words"] = [w.to_dict() for w in self.words or ()]
        return out


@dataclass(frozen=True)
class TranscriptionInfo:
    language: str  # ISO code, e.g. "en"
    language_probability: float
    all_language_probs: tuple[tuple[str, float], ...] | None
    duration_ms: int
    duration_after_vad_ms: int
    options: TranscribeOptions
    model: str = ""
    processing_ms: int = 0

    @property
    def duration(self) -> float:
        return ms_to_seconds(self.duration_ms)

    @property
    def duration_after_vad(self) -> float:
        return ms_to_seconds(self.duration_after_vad_ms)


@dataclass(frozen=True)
class Transcription:
    segments: tuple[Segment, ...]
    info: TranscriptionInfo
    task: Task = "transcribe"

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in (s.words or ()))

    @property
    def logprobs(self) -> tuple[TokenLogprob, ...]:
        return tuple(t for s in self.segments for t in s.logprobs)
