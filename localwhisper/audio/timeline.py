"""Map times in VAD-packed audio back to the original timeline (integer samples/ms)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
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


# Long inputs are decoded in chunks of about CHUNK_SECONDS (memory is O(chunk): 58 MB of
# samples for 15 min). Each cut costs a few seconds of decoding (the piece's last window is
# padded, the next starts afresh with the carried tokens): on long_en_a (727.5 s, base, 2 threads)
# 300 s chunks took 46 s and one chunk 38 s, so chunks are long.
CHUNK_SECONDS = 900
CUT_SEARCH_SECONDS = 20  # ... cut at the quietest moment in the last 20 s of each chunk
_FRAME = SAMPLE_RATE // 50  # 20 ms energy frames
_QUIET_FRAMES = 10  # a 200 ms quiet stretch


def chunk_bounds(audio: npt.NDArray[np.float32], chunk_samples: int = CHUNK_SECONDS * SAMPLE_RATE,
                 search_samples: int = CUT_SEARCH_SECONDS * SAMPLE_RATE) -> list[tuple[int, int]]:
    """Split long audio into chunks ending at quiet moments (sample index bounds).

    whisper.cpp computes the log-mel of its whole input before decoding: chunking
    bounds that memory and latency (first segment, abort) on hour-long files.
    """
    bounds: list[tuple[int, int]] = []
    start = 0
    while len(audio) - start > chunk_samples + search_samples:
        low = start + chunk_samples - search_samples
        window = audio[low:start + chunk_samples]
        n_frames = len(window) // _FRAME
        energy = np.square(window[:n_frames * _FRAME].reshape(n_frames, _FRAME)).mean(axis=1)
        smoothed = np.convolve(energy, np.ones(_QUIET_FRAMES), mode="valid")
        quietest = int(np.argmin(smoothed))
        cut = low + (quietest + _QUIET_FRAMES // 2) * _FRAME
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(audio)))
    return bounds


def audio_pieces(blocks: Iterable[npt.NDArray[np.float32]], chunk_samples: int = CHUNK_SECONDS * SAMPLE_RATE,
                 search_samples: int = CUT_SEARCH_SECONDS * SAMPLE_RATE
                 ) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """(first sample, piece) of a stream of decoded blocks, cut exactly where
    :func:`chunk_bounds` would cut the whole input: each cut depends only on the audio
    after the previous one, so a piece comes out as soon as enough audio follows it.
    The blocks are joined once per piece; a caller that drops each piece before asking
    for the next holds about two pieces of audio at most."""
    pending: list[npt.NDArray[np.float32]] = []
    held = origin = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        while held > chunk_samples + search_samples:
            audio = np.concatenate(pending)
            pending.clear()
            cut = chunk_bounds(audio, chunk_samples, search_samples)[0][1]
            yield origin, audio[:cut]
            pending.append(audio[cut:].copy())
            del audio
            held, origin = len(pending[0]), origin + cut
    if pending:
        yield origin, np.concatenate(pending) if len(pending) > 1 else pending[0]
