"""Group whisper.cpp tokens into words with timings and probabilities.

A token whose text starts with a space (or the segment's first token) starts
a word; other tokens — sub-words, punctuation — extend it. Word ends come
from DTW (``t_dtw``) when the context computed it, else from whisper.cpp's
token timestamps (``t0``/``t1``), which stretch a segment's last word to the
segment end. All arithmetic is in integer milliseconds; word
times are clamped into their segment and made monotonic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from localwhisper.types import Word
from whisper_native import RawToken


def _word_groups(tokens: Sequence[RawToken]) -> list[list[RawToken]]:
    groups: list[list[RawToken]] = []
    for token in tokens:
        if token.special or not token.text:
            continue
        starts_word = token.text.startswith(b" ") or not groups
        if starts_word:
            groups.append([token])
        else:
            groups[-1].append(token)
    return groups


def words_from_tokens(tokens: Sequence[RawToken], segment_start_ms: int, segment_end_ms: int,
                      to_ms: Callable[[int, bool], int]) -> tuple[Word, ...]:
    """``to_ms(centiseconds, is_end)`` maps a raw whisper time onto the output timeline."""
    groups = _word_groups(tokens)
    use_dtw = bool(groups) and all(t.t_dtw_cs >= 0 for g in groups for t in g)
    words: list[Word] = []
    previous_end = segment_start_ms
    for group in groups:
        if use_dtw:
            # whisper.cpp's t_dtw marks where a token's audio ends; the token timestamp t0
            # (energy-refined) is the better start, bounded below by the previous word's end
            start_ms = to_ms(group[0].t0_cs, False) if group[0].t0_cs >= 0 else previous_end
            end_ms = to_ms(group[-1].t_dtw_cs, True)
            if start_ms >= end_ms:
                start_ms = previous_end
        else:
            start_ms = to_ms(group[0].t0_cs, False)
            end_ms = to_ms(group[-1].t1_cs, True)
        start_ms = min(max(start_ms, previous_end, segment_start_ms), segment_end_ms)
        end_ms = min(max(end_ms, start_ms), segment_end_ms)
        text = b"".join(t.text for t in group).decode("utf-8", errors="replace")
        probability = sum(t.p for t in group) / len(group)
        words.append(Word(start_ms=start_ms, end_ms=end_ms, word=text, probability=probability))
        previous_end = end_ms
    return tuple(words)
