"""A streaming polyphase resampler to 16 kHz whose output does not depend on the chunking.

Output sample ``n`` sits exactly at time ``n / 16000`` and is a windowed-sinc (Kaiser)
interpolation of the input around that instant, with the cutoff below both Nyquist
frequencies (anti-aliasing when going down). Each output sample is a fixed function of
the input samples around it, so cutting the input into appends of any size (odd ones
included) gives the same samples; the price is a latency of half a filter (32 input
samples at 24 kHz, 1.3 ms): those outputs come with the next append.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

TARGET_RATE = 16000
TAPS_PER_PHASE = 32
ROLLOFF = 0.92  # cutoff as a fraction of the lower Nyquist frequency
KAISER_BETA = 8.0


def _phase_weights(up: int, down: int, taps: int) -> npt.NDArray[np.float64]:
    """weights[p, k] for output phase p and input offset k - taps//2 + 1 (each row sums to 1)."""
    half = taps // 2
    offsets = np.arange(-half + 1, half + 1)
    cutoff = 0.5 / max(up, down) * ROLLOFF  # cycles per sample of the up-sampled stream
    half_width = half * up
    weights = np.empty((up, taps), dtype=np.float64)
    for phase in range(up):
        t = phase - offsets * up  # distance in up-sampled samples
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (t / half_width) ** 2, 0.0, None))) / np.i0(
            KAISER_BETA)
        row = np.sinc(2.0 * cutoff * t) * window
        weights[phase] = row / row.sum()
    return weights


class StreamResampler:
    """``push(samples)`` at ``in_rate`` → every 16 kHz sample that can be computed so far."""

    def __init__(self, in_rate: int, out_rate: int = TARGET_RATE, taps: int = TAPS_PER_PHASE) -> None:
        common = math.gcd(in_rate, out_rate)
        self.up, self.down = out_rate // common, in_rate // common
        taps *= max(1, math.ceil(self.down / self.up))  # a filter as long in time when going down
        self._half = taps // 2
        self._offsets = np.arange(-self._half + 1, self._half + 1)
        self._weights = _phase_weights(self.up, self.down, taps) if self.up != self.down else None
        # input history; index 0 is absolute input sample ``_start`` (zeros before the stream)
        self._history = np.zeros(self._half, dtype=np.float64)
        self._start = -self._half
        self._n_in = 0
        self._n_out = 0

    @property
    def passthrough(self) -> bool:
        return self._weights is None

    def push(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self._weights is None:
            return samples.astype(np.float32, copy=True)
        self._history = np.concatenate([self._history, samples.astype(np.float64)])
        self._n_in += len(samples)
        ready = (self._n_in - self._half) * self.up
        end = (ready - 1) // self.down + 1 if ready > 0 else 0  # outputs whose inputs have all arrived
        if end <= self._n_out:
            return np.zeros(0, dtype=np.float32)
        positions = np.arange(self._n_out, end, dtype=np.int64) * self.down
        base, phase = positions // self.up, positions % self.up
        window = self._history[base[:, None] + self._offsets[None, :] - self._start]
        out = np.sum(window * self._weights[phase], axis=1)
        self._n_out = end
        keep_from = (end * self.down) // self.up - self._half + 1  # first input the next output needs
        self._history = self._history[keep_from - self._start:]
        self._start = keep_from
        return out.astype(np.float32)
