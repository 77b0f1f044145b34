"""Map times in VAD-packed audio back to the original timeline (integer samples/ms)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
SPAN_GAP_SAMPLES = SAMPLE_RATE // 10  # 100 ms of silence between packed speech spans


@dataclass(frozen=True)
class PackedSpan:
    packed_start: int  # sample index in the packed audio
    original_start: int  # sample index in the original audio
    length: int


class Timeline:
    """Speech spans packed one after another, separated by short silences."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.spans: list[PackedSpan] = []
        cursor = 0
        for start, end in spans:
            self.spans.append(PackedSpan(cursor, start, end - start))
            cursor += end - start + SPAN_GAP_SAMPLES
        self.packed_length = max(0, cursor - SPAN_GAP_SAMPLES)
        self._starts = [s.packed_start for s in self.spans]

    @classmethod
    def identity(cls, n_samples: int) -> Timeline:
        return cls([(0, n_samples)])

    def pack(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        packed = np.zeros(self.packed_length, dtype=np.float32)
        for span in self.spans:
            packed[span.packed_start:span.packed_start + span.length] = \
                audio[span.original_start:span.original_start + span.length]
        return packed

    @property
    def speech_samples(self) -> int:
        return sum(s.length for s in self.spans)

    def to_original_ms(self, packed_ms: int, *, is_end: bool = False) -> int:
        """A packed-audio time in ms → original-audio ms. Gap times snap to the nearer span edge."""
        if not self.spans:
            return packed_ms
        sample = packed_ms * SAMPLE_RATE // 1000
        index = max(0, bisect.bisect_right(self._starts, sample) - 1)
        span = self.spans[index]
        offset = sample - span.packed_start
        if offset > span.length:  # inside the gap after this span
            if is_end or index + 1 >= len(self.spans):
                offset = span.length
            else:
                span, offset = self.spans[index + 1], 0
        return (span.original_start + offset) * 1000 // SAMPLE_RATE
