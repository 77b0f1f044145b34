"""Decoded frames → float32 mono 16 kHz samples, in a buffer bounded by the duration limit.

Audio that already is 16 kHz mono skips the resampler: its sample-format conversion is done in
numpy with the same arithmetic libswresample uses, so the result is bit-identical, only faster.
"""

from __future__ import annotations

import av
import numpy as np

from localwhisper.audio.limits import SAMPLE_RATE, AudioLimits, too_long
from localwhisper.errors import InvalidAudio

MIN_INPUT_RATE = 1_000  # Hz; below this a header is nonsense, and 1 Hz expands 16000-fold
MAX_INPUT_RATE = 768_000  # Hz; the highest rate real PCM uses
MAX_CHANNELS = 64  # libswresample's limit

# Sample formats whose conversion to float32 we reproduce exactly: (dtype, scale).
_DIRECT_FORMATS: dict[str, tuple[type[np.generic], float | None]] = {
    "s16": (np.int16, 2.0**-15), "s16p": (np.int16, 2.0**-15),
    "s32": (np.int32, 2.0**-31), "s32p": (np.int32, 2.0**-31),
    "flt": (np.float32, None), "fltp": (np.float32, None),
    "dbl": (np.float64, None), "dblp": (np.float64, None),
}


class FrameConverter:
    """Frames of one (format, layout, rate) → float32 mono 16 kHz samples in a buffer.

    A new converter is made whenever the decoded frames change shape (chained
    Ogg, mid-stream rate switches), after the previous one is flushed.
    """

    def __init__(self, frame: av.AudioFrame) -> None:
        rate, channels = frame.sample_rate, frame.layout.nb_channels
        if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
            raise InvalidAudio(f"The audio stream has an unsupported sample rate ({rate} Hz); "
                               f"supported: {MIN_INPUT_RATE}–{MAX_INPUT_RATE} Hz.", param="file")
        if not 1 <= channels <= MAX_CHANNELS:
            raise InvalidAudio(f"The audio stream has an unsupported channel count ({channels}).",
                               param="file")
        self._key = (frame.format.name, frame.layout.name, rate)
        is_target_rate_mono = rate == SAMPLE_RATE and channels == 1
        self._direct = _DIRECT_FORMATS.get(frame.format.name) if is_target_rate_mono else None
        self._resampler = None if self._direct else av.AudioResampler(
            format="flt", layout="mono", rate=SAMPLE_RATE)

    def accepts(self, frame: av.AudioFrame) -> bool:
        return (frame.format.name, frame.layout.name, frame.sample_rate) == self._key

    def convert(self, frame: av.AudioFrame, buffer: SampleBuffer) -> None:
        if self._direct is not None:
            # Already 16 kHz mono: only the sample format changes, with libswresample's
            # arithmetic (int → float32, times 2^-15 or 2^-31), so the result is identical.
            dtype, scale = self._direct
            buffer.append(np.frombuffer(frame.planes[0], dtype, count=frame.samples), scale)
        else:
            self._drain(self._resampler.resample(frame), buffer)

    def flush(self, buffer: SampleBuffer) -> None:
        if self._resampler is not None:
            self._drain(self._resampler.resample(None), buffer)

    @staticmethod
    def _drain(frames: list[av.AudioFrame], buffer: SampleBuffer) -> None:
        for out in frames:  # packed float32 mono
            buffer.append(np.frombuffer(out.planes[0], np.float32, count=out.samples))


class SampleBuffer:
    """A growable float32 buffer; the samples it ever held may not exceed the limit."""

    def __init__(self, capacity: int, limits: AudioLimits) -> None:
        self._limits = limits
        self._max = limits.max_decoded_samples
        self._data = np.empty(max(1, min(capacity, self._max)), dtype=np.float32)
        self.size = 0  # samples held now
        self.total = 0  # samples appended since the start, taken ones included

    def append(self, chunk: np.ndarray, scale: float | None = None) -> None:
        """Store ``chunk`` cast to float32 and, when given, multiplied by ``scale`` in float32."""
        end = self.size + chunk.size
        if self.total + chunk.size > self._max:
            raise too_long(self._limits)
        self.total += chunk.size
        if end > self._data.size:  # realloc in place: no copy for large (mmap'd) buffers
            self._data.resize(min(self._max, max(end, self._data.size * 3 // 2)), refcheck=False)
        view = self._data[self.size:end]
        if scale is None:
            view[:] = chunk
        else:  # cast to float32 first, then multiply in float32: libswresample's order
            np.multiply(chunk, np.float32(scale), out=view, dtype=np.float32, casting="unsafe")
        self.size = end

    def take(self, count: int) -> np.ndarray:
        """The first ``count`` samples as a new array; the rest moves to the front."""
        block = self._data[:count].copy()
        rest = self.size - count
        self._data[:rest] = self._data[count:self.size]
        self.size = rest
        return block

    def finish(self) -> np.ndarray:
        self._data.resize(self.size, refcheck=False)
        return self._data
