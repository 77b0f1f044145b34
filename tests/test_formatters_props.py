"""Property tests: whatever the text and times, srt/vtt parse back exactly and JSON round-trips."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from localwhisper.formatters import format_transcription, to_srt, to_vtt, verbose_json
from localwhisper.types import Segment, TranscribeOptions, Transcription, TranscriptionInfo, Word

SETTINGS = settings(max_examples=60, deadline=None)

# Text with the characters that break subtitle files: arrows, every kind of line break, NUL.
nasty_text = st.lists(
    st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
              st.sampled_from(["-->", "--", ">", "\n", "\r\n", "\r", "\n\n", "\u2028", "\x85", "\x0b",
                               " ", "\t", "\x00", "é", "東京", "🙂"])),
    max_size=8,
).map("".join)
plain_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzÀé東,.!?'"), min_size=1, max_size=12)


@st.composite
def monotonic_times(draw: st.DrawFn, n: int) -> list[tuple[int, int]]:
    """n (start_ms, end_ms) pairs, starts non-decreasing, up to ~400 hours."""
    t = draw(st.integers(0, 360_000_000))
    times = []
    for _ in range(n):
        t += draw(st.integers(0, 5_000_000))
        times.append((t, t + draw(st.integers(0, 40_000))))
        t = times[-1][1] if draw(st.booleans()) else t
    return times


@st.composite
def transcriptions(draw: st.DrawFn, text: st.SearchStrategy[str] = nasty_text,
                   with_words: bool = False) -> Transcription:
    n = draw(st.integers(0, 8))
    segments = []
    clock = draw(st.integers(0, 360_000_000))  # word times run on, monotonic across segments
    for i, (start, end) in enumerate(draw(monotonic_times(n))):
        if with_words:
            words = []
            for token in draw(st.lists(plain_word, min_size=1, max_size=8)):
                clock += draw(st.integers(0, 5000))
                words.append(Word(clock, clock + draw(st.integers(0, 2000)), " " + token, 0.5))
                clock = words[-1].end_ms
            start, end, body = words[0].start_ms, words[-1].end_ms, "".join(w.word for w in words)
        else:
            words, body = None, draw(text)
        segments.append(Segment(id=i, seek=start // 10, start_ms=start, end_ms=end, text=body,
                                tokens=(1, 2), temperature=0.0, avg_logprob=draw(st.floats(-5, 0)),
                                compression_ratio=1.2, no_speech_prob=0.1,
                                words=tuple(words) if words else None))
    duration = segments[-1].end_ms if segments else 0
    info = TranscriptionInfo(language="de", language_probability=1.0, all_language_probs=None,
                             duration_ms=duration, duration_after_vad_ms=duration,
                             options=TranscribeOptions())
    return Transcription(segments=tuple(segments), info=info)


# --- parsers ----------------------------------------------------------------------------

_TIME = r"(\d{{2,}}):([0-5]\d):([0-5]\d)[{sep}](\d{{3}})"


def _ms(h: str, m: str, s: str, ms: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def parse_cues(body: str, *, vtt: bool) -> list[tuple[int, int, list[str]]]:
    if vtt:
        assert body.startswith("WEBVTT\n\n")
        body = body[len("WEBVTT\n\n"):]
    assert body == "" or body.endswith("\n\n")
    time = _TIME.format(sep="." if vtt else ",")
    timing = re.compile(f"{time} --> {time}")
    cues = []
    for number, block in enumerate(body.split("\n\n")[:-1], start=1):
        lines = block.split("\n")
        if not vtt:
            assert lines.pop(0) == str(number)
        match = timing.fullmatch(lines[0])
        assert match, lines[0]
        text = lines[1:]
        assert text, "a cue without text"
        assert all(line.strip() for line in text), "a blank line inside a cue"
        assert all("-->" not in line for line in text)
        assert "\n".join(text).splitlines() == text, "a line break other than \\n"
        cues.append((_ms(*match.groups()[:4]), _ms(*match.groups()[4:]), text))
    return cues


def _visible(text: str) -> str:
    """Content that sanitising must keep: everything but whitespace and arrow characters."""
    return "".join(c for c in text.replace("\x00", "\ufffd") if not c.isspace() and c not in "->")


# --- properties -------------------------------------------------------------------------

@SETTINGS
@given(transcriptions(), st.booleans())
def test_subtitles_parse_back_to_the_segments(t: Transcription, vtt: bool) -> None:
    body = to_vtt(t) if vtt else to_srt(t)
    cues = parse_cues(body, vtt=vtt)
    spoken = [s for s in t.segments if any(not c.isspace() for c in s.text)]
    assert [(start, end) for start, end, _ in cues] == [(s.start_ms, s.end_ms) for s in spoken]
    assert [_visible("".join(text)) for _, _, text in cues] == [_visible(s.text) for s in spoken]
    starts = [start for start, _, _ in cues]
    assert starts == sorted(starts)


@SETTINGS
@given(transcriptions(), st.integers(1, 50), st.integers(1, 4))
def test_wrapped_text_cues_respect_the_limits(t: Transcription, width: int, count: int) -> None:
    cues = parse_cues(to_srt(t, max_line_width=width, max_line_count=count), vtt=False)
    for _, _, text in cues:
        assert len(text) <= count
        assert all(len(line) <= width or " " not in line for line in text)
    spoken = [s for s in t.segments if any(not c.isspace() for c in s.text)]
    cue_text = "".join("".join(text) for _, _, text in cues)
    assert _visible(cue_text) == _visible("".join(s.text for s in spoken))
    # each segment's cues tile its span exactly, and the transcript's cues are theirs in order
    expected = []
    for s in spoken:
        own = parse_cues(to_srt(replace(t, segments=(s,)), max_line_width=width, max_line_count=count),
                         vtt=False)
        assert own[0][0] == s.start_ms and own[-1][1] == s.end_ms
        assert all(a[1] == b[0] and a[0] <= a[1] for a, b in pairwise(own))
        expected += own
    assert cues == expected


@SETTINGS
@given(transcriptions(with_words=True), st.integers(1, 40), st.integers(1, 3), st.booleans())
def test_word_cues_keep_every_word_in_order(t: Transcription, width: int, count: int, vtt: bool) -> None:
    body = to_vtt(t, max_line_width=width, max_line_count=count) if vtt else \
        to_srt(t, max_line_width=width, max_line_count=count)
    cues = parse_cues(body, vtt=vtt)
    assert [w for _, _, text in cues for line in text for w in line.split(" ")] == \
        [w.word.strip() for w in t.words]
    word_starts = {w.start_ms for w in t.words}
    word_ends = {w.end_ms for w in t.words}
    for start, end, text in cues:
        assert start in word_starts and end in word_ends and start <= end
        assert len(text) <= count
        assert all(len(line) <= width or " " not in line for line in text)
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)


@SETTINGS
@given(transcriptions(), st.booleans(), st.booleans())
def test_json_round_trips(t: Transcription, include_segments: bool, include_words: bool) -> None:
    body, media_type = format_transcription(t, "verbose_json", include_segments=include_segments,
                                            include_words=include_words)
    assert media_type == "application/json"
    assert json.loads(body) == verbose_json(t, include_segments=include_segments,
                                            include_words=include_words)
    simple, _ = format_transcription(t, "json")
    assert json.loads(simple)["text"] == t.text
