"""Form fields of ``/v1/audio/*`` → a validated :class:`AudioRequest`.

OpenAI fields: ``model`` (required), ``language``, ``prompt``, ``response_format``
(``json``, ``text``, ``srt``, ``vtt``, ``verbose_json``; also ``tsv`` and ``lrc``),
``temperature`` (0 = start greedy and fall back to higher temperatures, as OpenAI
documents; > 0 = that temperature only),
``timestamp_granularities[]``, ``stream``, ``chunking_strategy`` (``auto`` or a
``server_vad`` object, as JSON or bracket keys), ``include[]`` (``logprobs``: every decoded
text token with its log probability and bytes, in ``json``, ``verbose_json`` and streamed events),
``keywords[]`` (used as whisper hotwords). Arrays may come as repeated ``name[]`` or ``name``
fields, ``name[0]``-style keys, a JSON array or a comma list; objects as a JSON string or
``name[key]`` fields, the way the official clients send them.

Whisper extras (localwhisper only; unknown fields are ignored):

=============================  =======  ===================================================
field                          type     meaning
=============================  =======  ===================================================
``vad``                        bool     keep only speech (Silero VAD) before decoding
``vad_threshold``              float    speech probability threshold, 0..1
``vad_min_speech_duration_ms`` int      shorter speech is dropped
``vad_min_silence_duration_ms`` int     silence that ends a speech span
``vad_max_speech_duration_s``  float    longer speech spans are split
``vad_speech_pad_ms``          int      padding kept around speech
``beam_size``                  int      1 = greedy, up to 16 (default: see transcribe/decoding.py)
``best_of``                    int      candidates when sampling at temperature > 0
``patience``                   float    beam search patience
``length_penalty``             float    beam search length penalty
``temperature_increment``      float    fallback step (0 disables fallback)
``compression_ratio_threshold`` float   fallback trigger and repetition-loop guard
``log_prob_threshold``         float    fallback trigger
``no_speech_threshold``        float    silence detection threshold
``condition_on_previous_text`` bool     prompt each window with the previous text
``hotwords``                   string   words that bias every window
``word_timestamps``            bool     compute word times (``verbose_json`` shows them)
``max_segment_chars``          int      split segments longer than this (0 = no limit)
``max_tokens_per_segment``     int      split segments with more tokens (0 = no limit)
``split_on_word``              bool     split on word boundaries when limiting length
``suppress_blank``             bool     suppress a blank first token
``suppress_non_speech_tokens`` bool     suppress symbols and punctuation-only tokens
``carry_initial_prompt``       bool     repeat the prompt in every window
``max_initial_timestamp``      float    latest allowed first timestamp, seconds
``max_line_width``             int      srt/vtt: wrap cue lines at this many characters
``max_line_count``             int      srt/vtt: at most this many lines per cue
``verbose``                    bool     with ``stream``: delta events also carry ``segment``
=============================  =======  ===================================================

Malformed values (not a number, not a boolean, unknown format) are 400; well-formed but
out-of-range values are 422 (:class:`~localwhisper.errors.InvalidValue`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from localwhisper.errors import InvalidRequest, InvalidValue
from localwhisper.formatters import FORMATS
from localwhisper.types import Task, TranscribeOptions

from .forms import UploadForm

RESPONSE_FORMATS = FORMATS  # OpenAI's five plus tsv and lrc
STREAM_FORMATS = ("json", "text")
GRANULARITIES = ("word", "segment")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

Parser = Callable[[Any, str], Any]


# --- value parsers: (raw value, field name) → value -----------------------------------------

def parse_bool(raw: Any, name: str) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidRequest(f"'{name}' must be true or false, not {raw!r}.", param=name)


def parse_float(raw: Any, name: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidRequest(f"'{name}' must be a number, not {raw!r}.", param=name) from None
    if not math.isfinite(value):
        raise InvalidValue(f"'{name}' must be a finite number.", param=name)
    return value


def parse_int(raw: Any, name: str) -> int:
    value = parse_float(raw, name)
    if value != int(value):
        raise InvalidRequest(f"'{name}' must be an integer, not {raw!r}.", param=name)
    return int(value)


def _non_negative(parse: Parser) -> Parser:
    def check(raw: Any, name: str) -> Any:
        value = parse(raw, name)
        if value < 0:
            raise InvalidValue(f"'{name}' must be >= 0.", param=name)
        return value
    return check


def _unit_interval(raw: Any, name: str) -> float:
    value = parse_float(raw, name)
    if not 0.0 <= value <= 1.0:
        raise InvalidValue(f"'{name}' must be between 0 and 1.", param=name)
    return value


def _text(raw: Any, name: str) -> str:
    return str(raw)


# form field → (TranscribeOptions field, parser)
EXTRA_OPTIONS: Mapping[str, tuple[str, Parser]] = {
    "vad": ("vad", parse_bool),
    "beam_size": ("beam_size", parse_int),
    "best_of": ("best_of", parse_int),
    "patience": ("patience", _non_negative(parse_float)),
    "length_penalty": ("length_penalty", parse_float),
    "temperature_increment": ("temperature_increment", parse_float),
    "compression_ratio_threshold": ("compression_ratio_threshold", parse_float),
    "log_prob_threshold": ("log_prob_threshold", parse_float),
    "no_speech_threshold": ("no_speech_threshold", _unit_interval),
    "condition_on_previous_text": ("condition_on_previous_text", parse_bool),
    "hotwords": ("hotwords", _text),
    "word_timestamps": ("word_timestamps", parse_bool),
    "max_segment_chars": ("max_segment_chars", _non_negative(parse_int)),
    "max_tokens_per_segment": ("max_tokens_per_segment", _non_negative(parse_int)),
    "split_on_word": ("split_on_word", parse_bool),
    "suppress_blank": ("suppress_blank", parse_bool),
    "suppress_non_speech_tokens": ("suppress_non_speech_tokens", parse_bool),
    "carry_initial_prompt": ("carry_initial_prompt", parse_bool),
    "max_initial_timestamp": ("max_initial_timestamp", _non_negative(parse_float)),
}
# form field → (VadOptions field, parser)
VAD_OPTIONS: Mapping[str, tuple[str, Parser]] = {
    "vad_threshold": ("threshold", _unit_interval),
    "vad_min_speech_duration_ms": ("min_speech_duration_ms", _non_negative(parse_int)),
    "vad_min_silence_duration_ms": ("min_silence_duration_ms", _non_negative(parse_int)),
    "vad_max_speech_duration_s": ("max_speech_duration_s", _non_negative(parse_float)),
    "vad_speech_pad_ms": ("speech_pad_ms", _non_negative(parse_int)),
}
# chunking_strategy (server_vad) key → (VadOptions field, parser)
SERVER_VAD_KEYS: Mapping[str, tuple[str, Parser]] = {
    "threshold": ("threshold", _unit_interval),
    "prefix_padding_ms": ("speech_pad_ms", _non_negative(parse_int)),
    "silence_duration_ms": ("min_silence_duration_ms", _non_negative(parse_int)),
}


@dataclass(frozen=True)
class AudioRequest:
    model: str
    task: Task
    response_format: str = "json"
    granularities: frozenset[str] = frozenset()
    stream: bool = False
    stream_segments: bool = False  # `verbose`: delta events carry the segment's times
    include_logprobs: bool = False  # include[]=logprobs
    overrides: Mapping[str, Any] = field(default_factory=dict)  # TranscribeOptions fields
    vad_overrides: Mapping[str, Any] = field(default_factory=dict)  # VadOptions fields
    line_options: Mapping[str, int] = field(default_factory=dict)  # srt/vtt wrapping

    @property
    def include_words(self) -> bool:
        return "word" in self.granularities or bool(self.overrides.get("word_timestamps"))

    @property
    def include_segments(self) -> bool:
        return "segment" in self.granularities or "word" not in self.granularities

    def options(self, base: TranscribeOptions) -> TranscribeOptions:
        """``base`` (the model's defaults) with this request's choices applied."""
        overrides = dict(self.overrides)
        if self.vad_overrides:
            overrides["vad_options"] = replace(base.vad_options, **self.vad_overrides)
        return base.with_overrides(**overrides)


# --- field collection --------------------------------------------------------------------------

def _array(form: UploadForm, name: str) -> list[str]:
    """``name``, ``name[]`` and ``name[N]`` fields; each may hold a JSON array or a comma list."""
    raw = form.getlist(name) + form.getlist(name + "[]")
    def index(key: str) -> str:
        return key[len(name) + 1:-1] if key.startswith(name + "[") and key.endswith("]") else ""

    indexed = sorted((key for key in form.fields if index(key).isdigit()), key=lambda key: int(index(key)))
    raw += [value for key in indexed for value in form.getlist(key)]
    values: list[str] = []
    for item in raw:
        text = item.strip()
        if text.startswith("["):
            try:
                decoded = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: absurd nesting
                raise InvalidRequest(f"'{name}' is not a valid JSON array.", param=name) from None
            if not isinstance(decoded, list):
                raise InvalidRequest(f"'{name}' must be an array.", param=name)
            values += [str(v).strip() for v in decoded]
        else:
            values += [part.strip() for part in text.split(",")]
    return [v for v in values if v]


def _object(form: UploadForm, name: str) -> tuple[str | None, dict[str, Any]]:
    """(plain string value, object keys) of ``name``: a JSON object string or ``name[key]`` fields."""
    keys = {key[len(name) + 1:-1]: form.get(key) for key in form.fields
            if key.startswith(name + "[") and key.endswith("]")}
    raw = (form.get(name) or "").strip()
    if raw.startswith("{"):
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurd nesting
            raise InvalidRequest(f"'{name}' is not a valid JSON object.", param=name) from None
        if not isinstance(decoded, dict):
            raise InvalidRequest(f"'{name}' must be an object.", param=name)
        return None, {**decoded, **keys}
    return raw or None, keys


def _chunking_strategy(form: UploadForm) -> dict[str, Any] | None:
    """VadOptions overrides for ``chunking_strategy`` (``{}`` = VAD with defaults), or None."""
    name = "chunking_strategy"
    plain, keys = _object(form, name)
    if plain is not None and plain.lower() not in ("auto", "none", "null"):
        raise InvalidRequest(f"'{name}' must be 'auto' or a server_vad object, not {plain!r}.", param=name)
    if not keys:
        return {} if plain is not None and plain.lower() == "auto" else None
    kind = keys.get("type")
    if kind != "server_vad":
        raise InvalidRequest(f"'{name}[type]' must be 'server_vad', not {kind!r}.", param=f"{name}[type]")
    vad: dict[str, Any] = {}
    for key, (target, parse) in SERVER_VAD_KEYS.items():
        if keys.get(key) is not None:
            vad[target] = parse(keys[key], f"{name}[{key}]")
    return vad


def _choice(value: str | None, choices: tuple[str, ...], default: str, name: str) -> str:
    if value is None or not value.strip():
        return default
    value = value.strip()
    if value not in choices:
        raise InvalidRequest(f"'{name}' must be one of {', '.join(choices)}; got {value!r}.", param=name)
    return value


def parse_audio_request(form: UploadForm, task: Task) -> AudioRequest:
    """Validate the form of a transcription (``task='transcribe'``) or translation request."""
    if form.file is None:
        hint = (f" (a file was sent as '{form.other_file_fields[0]}')" if form.other_file_fields else "")
        raise InvalidRequest(f"The audio file must be sent as the form field 'file'{hint}.", param="file")
    model = (form.get("model") or "").strip()
    if not model:
        raise InvalidRequest("You must provide a model parameter.", param="model")
    response_format = _choice(form.get("response_format"), RESPONSE_FORMATS, "json", "response_format")
    overrides: dict[str, Any] = {"task": task}
    vad: dict[str, Any] = {}

    language = (form.get("language") or "").strip()
    if language:
        overrides["language"] = language
    prompt = form.get("prompt")
    if prompt and prompt.strip():
        overrides["initial_prompt"] = prompt
    keywords = _array(form, "keywords")
    if keywords:
        overrides["hotwords"] = ", ".join(keywords)
    for name, (target, parse) in EXTRA_OPTIONS.items():
        raw = form.get(name)
        if raw is not None and raw.strip():
            overrides[target] = parse(raw, name)
    temperature = form.get("temperature")
    if temperature is not None and temperature.strip():
        overrides["temperature"] = parse_float(temperature, "temperature")
        if overrides["temperature"] > 0 and "temperature_increment" not in overrides:
            overrides["temperature_increment"] = 0.0  # a fixed temperature, as OpenAI's API means it

    chunking = _chunking_strategy(form)
    if chunking is not None:
        overrides["vad"] = True
        vad.update(chunking)
    for name, (target, parse) in VAD_OPTIONS.items():
        raw = form.get(name)
        if raw is not None and raw.strip():
            vad[target] = parse(raw, name)

    granularities = _array(form, "timestamp_granularities")
    unknown = sorted(set(granularities) - set(GRANULARITIES))
    if unknown:
        raise InvalidRequest(
            f"'timestamp_granularities' may contain 'word' and 'segment', not {unknown[0]!r}.",
            param="timestamp_granularities")
    if "word" in granularities:
        if response_format != "verbose_json":
            raise InvalidRequest("Word timestamps need response_format 'verbose_json'.",
                                 param="timestamp_granularities")
        overrides["word_timestamps"] = True

    include = _array(form, "include")
    if unknown_include := sorted(set(include) - {"logprobs"}):
        raise InvalidRequest(f"'include' may contain 'logprobs', not {unknown_include[0]!r}.",
                             param="include")
    if include and response_format not in ("json", "verbose_json"):
        raise InvalidRequest("include[]=logprobs needs response_format 'json' or 'verbose_json'.",
                             param="include")

    stream_field = form.get("stream")
    stream = parse_bool(stream_field, "stream") if stream_field and stream_field.strip() else False
    if stream and response_format not in STREAM_FORMATS:
        raise InvalidRequest(f"Streaming is supported with response_format {' or '.join(STREAM_FORMATS)}, "
                             f"not {response_format!r}.", param="stream")
    verbose_field = form.get("verbose")
    verbose = parse_bool(verbose_field, "verbose") if verbose_field and verbose_field.strip() else False
    line_options = {name: parse_int(raw, name) for name in ("max_line_width", "max_line_count")
                    if (raw := form.get(name)) is not None and raw.strip()}
    return AudioRequest(
        model=model, task=task, response_format=response_format, granularities=frozenset(granularities),
        stream=stream, stream_segments=verbose, include_logprobs=bool(include),
        overrides=overrides, vad_overrides=vad, line_options=line_options)
