"""Notice whisper's repetition loops while segments arrive.

Greedy decoding conditioned on the previous window's text can lock into repeating
one sentence for minutes: seen on the hour-long bench file, 170 s of "Dial 5. To send
this caller to the torture menus." over real speech, every window at temperature 0.
whisper.cpp's own fallback watches token entropy over the last 32 tokens, which a
loop with a period of a dozen tokens passes. OpenAI's reference checks each window's
gzip compression ratio; this does that per segment, and also catches the same
sentence coming back again and again. The engine then re-decodes from the start of
the loop without the prompt that feeds it.
"""

from __future__ import annotations

import re
import zlib

REPEATS_IN_A_ROW = 3  # the same text this many times running is a loop ...
MIN_REPEATED_WORDS = 4  # ... if it is at least this long (IVR prompts say "Please try again." twice)
MAX_RESTARTS_PER_CHUNK = 3


def compression_ratio(text: str) -> float:
    """len(text) / len(zlib(text)), OpenAI's repetition measure (0 for empty text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[\w']+", text.lower()))


def is_repetition_loop(text: str, previous_texts: list[str],
                       compression_ratio_threshold: float | None) -> bool:
    """Whether a new segment ``text`` (after ``previous_texts`` of this pass) looks like a loop."""
    if compression_ratio_threshold is not None and compression_ratio(text) > compression_ratio_threshold:
        return True
    words = _words(text)
    recent = previous_texts[-(REPEATS_IN_A_ROW - 1):]
    return (len(words) >= MIN_REPEATED_WORDS and len(recent) == REPEATS_IN_A_ROW - 1
            and all(_words(p) == words for p in recent))
