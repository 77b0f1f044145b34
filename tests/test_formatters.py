"""Golden outputs of localwhisper.formatters (and the language table it reports names from)."""

from __future__ import annotations

import json
import math

import pytest

from localwhisper import formatters
from localwhisper.errors import InvalidRequest, InvalidValue
from localwhisper.formatters import (
    FORMATS,
    format_transcription,
    json_object,
    lrc_timestamp,
    srt_timestamp,
    to_lrc,
    to_srt,
    to_text,
    to_tsv,
    to_vtt,
    verbose_json,
    vtt_timestamp,
)
from localwhisper.languages import LANGUAGES, to_code, to_name
from localwhisper.types import (
    Segment,
    TokenLogprob,
    TranscribeOptions,
    Transcription,
    TranscriptionInfo,
    Word,
)


def segment(i: int, start_ms: int, end_ms: int, text: str, words: tuple[Word, ...] | None = None,
            **fields: float) -> Segment:
    values = {"temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.01}
    values.update(fields)
    return Segment(id=i, seek=0, start_ms=start_ms, end_ms=end_ms, text=text, tokens=(50364, 400 + i),
                   words=words, **values)


def transcription(*segments: Segment, duration_ms: int = 11_000, language: str = "en",
                  task: str = "transcribe") -> Transcription:
    info = TranscriptionInfo(language=language, language_probability=0.97, all_language_probs=None,
                             duration_ms=duration_ms, duration_after_vad_ms=duration_ms,
                             options=TranscribeOptions())
    return Transcription(segments=segments, info=info, task=task)  # type: ignore[arg-type]


def words(*spec: tuple[str, int, int]) -> tuple[Word, ...]:
    return tuple(Word(start_ms=s, end_ms=e, word=w, probability=0.9) for w, s, e in spec)


JFK = transcription(
    segment(0, 0, 7600, " And so my fellow Americans, ask not what your country can do for you,"),
    segment(1, 7600, 10600, " ask what you can do for your country.",
            words(("ask", 7600, 7900), (" what", 7900, 8200))),
    duration_ms=11_000,
)
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


# --- timestamps -------------------------------------------------------------------

@pytest.mark.parametrize("ms, srt, vtt, lrc", [
    (0, "00:00:00,000", "00:00:00.000", "[00:00.00]"),
    (999, "00:00:00,999", "00:00:00.999", "[00:01.00]"),
    (1004, "00:00:01,004", "00:00:01.004", "[00:01.00]"),
    (1005, "00:00:01,005", "00:00:01.005", "[00:01.01]"),
    (59_994, "00:00:59,994", "00:00:59.994", "[00:59.99]"),
    (59_995, "00:00:59,995", "00:00:59.995", "[01:00.00]"),
    (3_599_999, "00:59:59,999", "00:59:59.999", "[60:00.00]"),
    (3_600_000, "01:00:00,000", "01:00:00.000", "[60:00.00]"),
    (86_399_999, "23:59:59,999", "23:59:59.999", "[1440:00.00]"),
    (360_000_000, "100:00:00,000", "100:00:00.000", "[6000:00.00]"),
    (-5, "00:00:00,000", "00:00:00.000", "[00:00.00]"),
])
def test_timestamps_use_exact_integer_arithmetic(ms: int, srt: str, vtt: str, lrc: str) -> None:
    assert srt_timestamp(ms) == srt
    assert vtt_timestamp(ms) == vtt
    assert lrc_timestamp(ms) == lrc


# --- goldens ------------------------------------------------------------------------

def test_text() -> None:
    assert to_text(JFK) == JFK_TEXT + "\n"
    assert to_text(transcription()) == "\n"


def test_srt() -> None:
    assert to_srt(JFK) == (
        "1\n00:00:00,000 --> 00:00:07,600\n"
        "And so my fellow Americans, ask not what your country can do for you,\n\n"
        "2\n00:00:07,600 --> 00:00:10,600\n"
        "ask what you can do for your country.\n\n"
    )


def test_vtt() -> None:
    assert to_vtt(JFK) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:07.600\n"
        "And so my fellow Americans, ask not what your country can do for you,\n\n"
        "00:00:07.600 --> 00:00:10.600\n"
        "ask what you can do for your country.\n\n"
    )


def test_tsv() -> None:
    assert to_tsv(JFK) == (
        "start\tend\ttext\n"
        "0\t7600\tAnd so my fellow Americans, ask not what your country can do for you,\n"
        "7600\t10600\task what you can do for your country.\n"
    )


def test_lrc() -> None:
    assert to_lrc(JFK) == (
        "[00:00.00]And so my fellow Americans, ask not what your country can do for you,\n"
        "[00:07.60]ask what you can do for your country.\n"
    )


def test_json() -> None:
    assert json_object(JFK) == {"text": JFK_TEXT, "usage": {"type": "duration", "seconds": 11}}
    body, media_type = format_transcription(JFK, "json")
    assert media_type == "application/json"
    assert body == json.dumps({"text": JFK_TEXT, "usage": {"type": "duration", "seconds": 11}})


def test_verbose_json() -> None:
    segment_fields = {"seek": 0, "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5,
                      "no_speech_prob": 0.01}
    assert verbose_json(JFK) == {
        "task": "transcribe", "language": "english", "duration": 11.0, "text": JFK_TEXT,
        "segments": [
            {"id": 0, "start": 0.0, "end": 7.6, "tokens": [50364, 400], **segment_fields,
             "text": " And so my fellow Americans, ask not what your country can do for you,"},
            {"id": 1, "start": 7.6, "end": 10.6, "tokens": [50364, 401], **segment_fields,
             "text": " ask what you can do for your country."},
        ],
        "usage": {"type": "duration", "seconds": 11},
    }
    assert list(verbose_json(JFK)) == ["task", "language", "duration", "text", "segments", "usage"]


def test_verbose_json_words_and_segments_are_optional() -> None:
    only_words = verbose_json(JFK, include_segments=False, include_words=True)
    assert "segments" not in only_words
    assert only_words["words"] == [{"word": "ask", "start": 7.6, "end": 7.9},
                                   {"word": "what", "start": 7.9, "end": 8.2}]
    body, _ = format_transcription(JFK, "verbose_json", include_words=True, include_segments=True)
    assert set(json.loads(body)) == {"task", "language", "duration", "text", "words", "segments", "usage"}


def test_logprobs_only_when_asked_with_raw_bytes() -> None:
    tokens = (TokenLogprob(" caf", -0.1, b" caf"), TokenLogprob("\ufffd", -0.5, b"\xc3"),
              TokenLogprob("\ufffd", -0.25, b"\xa9"))
    cafe = transcription(Segment(id=0, seek=0, start_ms=0, end_ms=900, text=" café", tokens=(1, 2, 3),
                                 temperature=0.0, avg_logprob=-0.28, compression_ratio=1.0,
                                 no_speech_prob=0.0, logprobs=tokens))
    for fmt in ("json", "verbose_json"):
        body = json.loads(format_transcription(cafe, fmt, include_logprobs=True)[0])
        assert body["logprobs"][1] == {"token": "\ufffd", "logprob": -0.5, "bytes": [0xC3]}
        assert bytes(b for t in body["logprobs"] for b in t["bytes"]).decode() == " café"
        assert "logprobs" not in json.loads(format_transcription(cafe, fmt)[0])
    assert format_transcription(cafe, "srt", include_logprobs=True)[0].startswith("1\n")


def test_verbose_json_language_duration_and_usage_edges() -> None:
    french = transcription(segment(0, 0, 500, " Bonjour"), duration_ms=1001, language="fr", task="translate")
    out = verbose_json(french)
    assert (out["task"], out["language"], out["duration"]) == ("translate", "french", 1.001)
    assert out["usage"] == {"type": "duration", "seconds": 2}  # whole seconds, rounded up
    assert verbose_json(transcription(language="xx"))["language"] == "xx"  # unknown code passes through
    assert json_object(transcription(duration_ms=0))["usage"]["seconds"] == 0


def test_json_output_is_strict_and_utf8() -> None:
    odd = transcription(segment(0, 0, 1000, " naïve café 東京", avg_logprob=-math.inf,
                                no_speech_prob=math.nan))
    body, _ = format_transcription(odd, "verbose_json")
    assert "naïve café 東京" in body and "Infinity" not in body and "NaN" not in body
    parsed = json.loads(body)
    assert parsed["segments"][0]["avg_logprob"] is None and parsed["segments"][0]["no_speech_prob"] is None


def test_empty_transcription() -> None:
    empty = transcription()
    assert to_srt(empty) == ""
    assert to_vtt(empty) == "WEBVTT\n\n"
    assert to_tsv(empty) == "start\tend\ttext\n"
    assert to_lrc(empty) == ""
    assert json_object(empty)["text"] == ""


# --- text safety -------------------------------------------------------------------

def test_cue_text_has_no_arrow_and_no_blank_lines() -> None:
    nasty = transcription(
        segment(0, 0, 1000, " a --> b\n\n  c \r\n --->x\u2028\u2028 y\x00"),
        segment(1, 1000, 2000, " \n \u2029 "),  # nothing left: no cue
        segment(2, 2000, 3000, "tab\there"),
    )
    assert to_srt(nasty) == (
        "1\n00:00:00,000 --> 00:00:01,000\na -> b\nc\n->x\ny\ufffd\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\ntab\there\n\n"
    )
    assert to_tsv(nasty) == "start\tend\ttext\n0\t1000\ta --> b c --->x y\x00\n2000\t3000\ttab here\n"


# --- wrapping -----------------------------------------------------------------------

def test_text_wrapping_splits_cues_in_proportion_to_characters() -> None:
    t = transcription(segment(0, 0, 6000, " one two three four five six"))
    assert to_srt(t, max_line_width=9, max_line_count=1) == (
        "1\n00:00:00,000 --> 00:00:01,750\none two\n\n"
        "2\n00:00:01,750 --> 00:00:03,000\nthree\n\n"
        "3\n00:00:03,000 --> 00:00:05,250\nfour five\n\n"
        "4\n00:00:05,250 --> 00:00:06,000\nsix\n\n"
    )
    assert to_vtt(t, max_line_width=9, max_line_count=2) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:03.000\none two\nthree\n\n"
        "00:00:03.000 --> 00:00:06.000\nfour five\nsix\n\n"
    )
    one_cue = "1\n00:00:00,000 --> 00:00:06,000\none two\nthree\nfour five\nsix\n\n"
    assert to_srt(t, max_line_width=9) == one_cue
    long_words = to_srt(t, max_line_width=2).split("\n")  # words longer than the width stay whole
    assert long_words[2:9] == ["one", "two", "three", "four", "five", "six", ""]


FOX = transcription(
    segment(0, 0, 3000, " The quick brown fox",
            words((" The", 0, 200), (" quick", 200, 500), (" brown", 500, 900), (" fox", 900, 1200))),
    segment(1, 3000, 5000, " jumps over",
            words((" jumps", 3000, 3400), (" over", 3400, 3800))),
    segment(2, 7000, 8000, " again", words((" again", 7000, 7600),)),
)


def test_word_wrapping_flows_across_segments_with_both_options() -> None:
    assert to_srt(FOX, max_line_width=12, max_line_count=2) == (
        "1\n00:00:00,000 --> 00:00:01,200\nThe quick\nbrown fox\n\n"
        "2\n00:00:03,000 --> 00:00:03,800\njumps over\n\n"  # line count reached
        "3\n00:00:07,000 --> 00:00:07,600\nagain\n\n"  # a pause of more than 3 s
    )


def test_word_wrapping_keeps_segments_with_one_option() -> None:
    assert to_srt(FOX, max_line_width=12) == (
        "1\n00:00:00,000 --> 00:00:01,200\nThe quick\nbrown fox\n\n"
        "2\n00:00:03,000 --> 00:00:03,800\njumps over\n\n"
        "3\n00:00:07,000 --> 00:00:07,600\nagain\n\n"
    )
    assert to_vtt(FOX, max_line_count=1) == (  # cues take their times from the words
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.200\nThe quick brown fox\n\n"
        "00:00:03.000 --> 00:00:03.800\njumps over\n\n"
        "00:00:07.000 --> 00:00:07.600\nagain\n\n"
    )


def test_words_on_some_segments_only_fall_back_to_text_wrapping() -> None:
    # JFK's first segment has no word timings
    out = to_srt(JFK, max_line_width=42, max_line_count=1)
    assert out.startswith("1\n00:00:00,000 --> 00:00:04,470\nAnd so my fellow Americans, ask not what\n\n")
    assert out.endswith("00:00:07,600 --> 00:00:10,600\nask what you can do for your country.\n\n")


# --- dispatch -------------------------------------------------------------------------

def test_format_transcription_dispatch_and_media_types() -> None:
    assert FORMATS == ("json", "text", "srt", "verbose_json", "vtt", "tsv", "lrc")
    for fmt in FORMATS:
        body, media_type = format_transcription(JFK, fmt, max_line_width=40, max_line_count=2,
                                                include_words=True, include_segments=False)
        assert isinstance(body, str) and body
        expected = "application/json" if "json" in fmt else "text/plain; charset=utf-8"
        assert media_type == expected
    assert format_transcription(JFK, "srt", max_line_width=9)[0] == to_srt(JFK, max_line_width=9)


def test_format_transcription_errors() -> None:
    with pytest.raises(InvalidRequest) as info:
        format_transcription(JFK, "docx")
    assert info.value.param == "response_format" and info.value.http_status == 400
    with pytest.raises(TypeError, match="highlight"):
        format_transcription(JFK, "srt", highlight_words=True)
    for bad in (0, -1, True, 2.5, "10"):
        with pytest.raises(InvalidValue) as value_info:
            format_transcription(JFK, "vtt", max_line_width=bad)
        assert value_info.value.param == "max_line_width"
    with pytest.raises(InvalidValue):
        formatters.to_srt(JFK, max_line_count=0)


# --- languages --------------------------------------------------------------------------

def test_language_table() -> None:
    assert len(LANGUAGES) == 100
    codes = list(LANGUAGES)
    assert codes[:3] == ["en", "zh", "de"] and codes[-1] == "yue" and codes.index("jw") == 97
    assert all(name == name.lower() for name in LANGUAGES.values())


@pytest.mark.parametrize("given, code", [
    ("en", "en"), ("EN", "en"), ("English", "en"), (" english ", "en"), ("Haitian  Creole", "ht"),
    ("yue", "yue"), ("Cantonese", "yue"), ("mandarin", "zh"), ("Castilian", "es"), ("jv", "jw"),
    ("xx", None), ("", None), ("auto", None), ("en-US", None),
])
def test_to_code(given: str, code: str | None) -> None:
    assert to_code(given) == code


def test_to_name() -> None:
    assert to_name("en") == "english"
    assert to_name("YUE") == "cantonese"
    assert to_name("German") == "german"
    with pytest.raises(ValueError, match="unknown language"):
        to_name("klingon")
