"""Render a :class:`~localwhisper.types.Transcription` in every response format.

OpenAI's formats (``json``, ``text``, ``srt``, ``verbose_json``, ``vtt``) follow
the API's observed output; ``tsv`` and ``lrc`` follow openai-whisper and
whisper.cpp. Times are formatted from the integer ``start_ms``/``end_ms`` fields
with integer arithmetic only, so nothing mis-rounds and hours never overflow.

Subtitle cue text is never escaped; it only gets the two changes that keep a
file parseable: no ``-->`` (replaced by ``->``) and no blank or whitespace-only
lines (dropped; every Unicode line break counts as one). Segments whose text is
empty produce no cue or row.
"""

from __future__ import annotations

import json
import math
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from localwhisper.errors import InvalidRequest, InvalidValue
from localwhisper.languages import to_name
from localwhisper.types import Segment, Transcription, Word

FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "tsv", "lrc")
# File extensions where they differ from the format name: `.txt` as whisper-cli and openai-whisper write.
EXTENSIONS = {"text": "txt", "verbose_json": "json"}
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"  # what OpenAI sends for text, srt and vtt
JSON_MEDIA_TYPE = "application/json"

LONG_PAUSE_MS = 3000  # word-based cues break at pauses this long (openai-whisper's rule)
_OPTION_NAMES = frozenset({"max_line_width", "max_line_count", "include_segments", "include_words",
                           "include_logprobs"})
_WHITESPACE = re.compile(r"\s+")


# --- entry point ---------------------------------------------------------------

def format_transcription(t: Transcription, fmt: str, **opts: Any) -> tuple[str, str]:
    """Return ``(body, media_type)`` for response format ``fmt`` (one of :data:`FORMATS`).

    Options: ``max_line_width``/``max_line_count`` (srt, vtt) and
    ``include_segments``/``include_words`` (verbose_json), ``include_logprobs`` (json and
    verbose_json: OpenAI's ``logprobs`` list of text tokens); each format ignores
    the options that do not concern it, so a caller may pass them uniformly.
    """
    unknown = sorted(set(opts) - _OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown formatter option(s): {', '.join(unknown)}")
    wrap = {k: opts[k] for k in ("max_line_width", "max_line_count") if k in opts}
    if fmt in ("json", "verbose_json"):
        verbose = {k: opts[k] for k in ("include_segments", "include_words") if k in opts}
        body = json_object(t) if fmt == "json" else verbose_json(t, **verbose)
        if opts.get("include_logprobs"):
            body["logprobs"] = [token.to_dict() for token in t.logprobs]
        return dumps(body), JSON_MEDIA_TYPE
    if fmt == "text":
        return to_text(t), TEXT_MEDIA_TYPE
    if fmt == "srt":
        return to_srt(t, **wrap), TEXT_MEDIA_TYPE
    if fmt == "vtt":
        return to_vtt(t, **wrap), TEXT_MEDIA_TYPE
    if fmt == "tsv":
        return to_tsv(t), TEXT_MEDIA_TYPE
    if fmt == "lrc":
        return to_lrc(t), TEXT_MEDIA_TYPE
    raise InvalidRequest(f"Unsupported response_format {fmt!r}; use one of: {', '.join(FORMATS)}.",
                         param="response_format")


def output_name(stem: str, fmt: str, *, every_format: bool = False) -> str:
    """``jfk`` + ``text`` → ``jfk.txt``; with every format, verbose_json is ``jfk.verbose.json``."""
    if fmt == "verbose_json" and every_format:
        return f"{stem}.verbose.json"
    return f"{stem}.{EXTENSIONS.get(fmt, fmt)}"


# --- JSON ------------------------------------------------------------------------

def json_object(t: Transcription) -> dict[str, Any]:
    """OpenAI ``json``: the text, and usage in whole seconds as whisper-1 bills it."""
    return {"text": t.text, "usage": _usage(t)}


def verbose_json(t: Transcription, *, include_segments: bool = True,
                 include_words: bool = False) -> dict[str, Any]:
    """OpenAI ``verbose_json``; ``segments`` and the top-level ``words`` list are optional.

    ``language`` is the full lower-case English name ("english"), as OpenAI reports it.
    """
    out: dict[str, Any] = {"task": t.task, "language": _language_name(t.info.language),
                           "duration": t.info.duration, "text": t.text}
    if include_words:
        out["words"] = [{"word": w.word.strip(), "start": w.start, "end": w.end}
                        for w in t.words if w.word.strip()]
    if include_segments:
        out["segments"] = [s.to_dict() for s in t.segments]
    out["usage"] = _usage(t)
    return out


def dumps(obj: Any) -> str:
    """Strict JSON (UTF-8 text, not ASCII-escaped); NaN/inf, invalid in JSON, become null."""
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _usage(t: Transcription) -> dict[str, Any]:
    return {"type": "duration", "seconds": -(-max(0, t.info.duration_ms) // 1000)}


def _language_name(code: str) -> str:
    try:
        return to_name(code)
    except ValueError:  # not a whisper language: report what the engine gave
        return code


# --- plain text, TSV, LRC ----------------------------------------------------------

def to_text(t: Transcription) -> str:
    """OpenAI ``text``: the transcript and a newline."""
    return t.text + "\n"


def to_tsv(t: Transcription) -> str:
    """openai-whisper's TSV: a header, then ``start<TAB>end<TAB>text`` in integer milliseconds."""
    rows = [f"{s.start_ms}\t{s.end_ms}\t{text}\n" for s in t.segments if (text := _one_line(s.text))]
    return "start\tend\ttext\n" + "".join(rows)


def to_lrc(t: Transcription) -> str:
    """LRC lyrics: ``[mm:ss.xx]text`` per segment (minutes keep growing past 99)."""
    return "".join(f"{lrc_timestamp(s.start_ms)}{text}\n" for s in t.segments if (text := _one_line(s.text)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- timestamps --------------------------------------------------------------------

def srt_timestamp(ms: int) -> str:
    """``HH:MM:SS,mmm`` (hours widen beyond 99: ``100:00:00,000``); negatives clamp to 0."""
    return _clock(ms, ",")


def vtt_timestamp(ms: int) -> str:
    """``HH:MM:SS.mmm``, hours always present (WebVTT allows two or more digits)."""
    return _clock(ms, ".")


def lrc_timestamp(ms: int) -> str:
    """``[mm:ss.xx]``, rounded to the nearest centisecond (half up)."""
    minutes, centis = divmod((max(0, ms) + 5) // 10, 6000)
    seconds, centis = divmod(centis, 100)
    return f"[{minutes:02d}:{seconds:02d}.{centis:02d}]"


def _clock(ms: int, decimal_marker: str) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal_marker}{millis:03d}"


# --- subtitles ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str  # one or more non-blank lines joined by "\n", without "-->"


def to_srt(t: Transcription, *, max_line_width: int | None = None,
           max_line_count: int | None = None) -> str:
    cues = subtitle_cues(t, max_line_width=max_line_width, max_line_count=max_line_count)
    return "".join(f"{i}\n{srt_timestamp(c.start_ms)} --> {srt_timestamp(c.end_ms)}\n{c.text}\n\n"
                   for i, c in enumerate(cues, start=1))


def to_vtt(t: Transcription, *, max_line_width: int | None = None,
           max_line_count: int | None = None) -> str:
    cues = subtitle_cues(t, max_line_width=max_line_width, max_line_count=max_line_count)
    return "WEBVTT\n\n" + "".join(f"{vtt_timestamp(c.start_ms)} --> {vtt_timestamp(c.end_ms)}\n{c.text}\n\n"
                                  for c in cues)


def subtitle_cues(t: Transcription, *, max_line_width: int | None = None,
                  max_line_count: int | None = None) -> list[Cue]:
    """Cues for srt/vtt.

    Without wrapping options: one cue per segment. With either option and word
    timings on every segment, words are packed into lines and cues the way
    openai-whisper does (only one option given: cues still break at segment
    boundaries; both given: cues flow across segments and break on the line
    count or a pause of :data:`LONG_PAUSE_MS`). Without word timings the text is
    wrapped and cues split with times in proportion to their characters.
    """
    width = _positive_or_none("max_line_width", max_line_width)
    count = _positive_or_none("max_line_count", max_line_count)
    spoken = [s for s in t.segments if _cue_text(s.text)]
    if width is None and count is None:
        return [Cue(s.start_ms, s.end_ms, _cue_text(s.text)) for s in spoken]
    if spoken and all(s.words for s in spoken):
        return _word_cues(spoken, width, count)
    return [cue for s in spoken for cue in _wrapped_cues(s, width, count)]


def _positive_or_none(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue(f"{name} must be a positive integer, not {value!r}.", param=name)
    return value


def _cue_text(text: str) -> str:
    lines = (line.strip() for line in text.replace("\x00", "\ufffd").splitlines())
    joined = "\n".join(line for line in lines if line)
    while "-->" in joined:  # one pass can create a new arrow ("--->" → "-->")
        joined = joined.replace("-->", "->")
    return joined


def _word_cues(segments: Sequence[Segment], width: int | None, count: int | None) -> list[Cue]:
    preserve_segments = width is None or count is None
    width = width or sys.maxsize
    cues: list[Cue] = []
    current: list[tuple[str, Word]] = []  # words of the next cue; "\n" prefix = line break
    line_len, line_count = 0, 1
    last_start = segments[0].words[0].start_ms if segments[0].words else 0
    for segment in segments:
        for i, word in enumerate(segment.words or ()):
            piece = _WHITESPACE.sub(" ", word.word)
            long_pause = not preserve_segments and word.start_ms - last_start > LONG_PAUSE_MS
            segment_break = i == 0 and bool(current) and preserve_segments
            if line_len > 0 and line_len + len(piece) <= width and not long_pause and not segment_break:
                line_len += len(piece)
            else:
                piece = piece.strip()
                if current and (segment_break or (count is not None and (long_pause or line_count >= count))):
                    cues.extend(_cue_from_words(current))
                    current, line_count = [], 1
                elif line_len > 0:
                    piece = "\n" + piece
                    line_count += 1
                line_len = len(piece.strip())
            current.append((piece, word))
            last_start = word.start_ms
    cues.extend(_cue_from_words(current))
    return cues


def _cue_from_words(words: Sequence[tuple[str, Word]]) -> Iterable[Cue]:
    text = _cue_text("".join(piece for piece, _ in words))
    if text:
        yield Cue(words[0][1].start_ms, words[-1][1].end_ms, text)


def _wrapped_cues(segment: Segment, width: int | None, count: int | None) -> Iterable[Cue]:
    lines: list[str] = []
    for line in _cue_text(segment.text).split("\n"):
        if width is None:
            lines.append(line)
        else:
            lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
    per_cue = count or len(lines)
    total = sum(len(line) for line in lines)
    span = segment.end_ms - segment.start_ms
    done = 0
    for first in range(0, len(lines), per_cue):
        group = lines[first:first + per_cue]
        start = segment.start_ms + span * done // total
        done += sum(len(line) for line in group)
        yield Cue(start, segment.start_ms + span * done // total, "\n".join(group))
