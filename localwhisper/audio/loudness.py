"""Level quiet speech up before voice-activity detection.

Silero's speech probability depends on the input level: a speaker at -45 dBFS
(a quiet talker, a far microphone, a clip normalised to a loud cough) scores
0.1–0.4 where the same words 18 dB louder score 0.8–1.0, so the VAD drops them
and whisper never sees them. whisper itself normalises each window's log-mel and
hears quiet speech fine. Levelling only the VAD's copy of the audio keeps quiet
speech without touching what whisper decodes.

The gain follows the loudest 100 ms frame within ±1 s, so speech and the noise
around it are raised together (the local signal-to-noise ratio is unchanged),
is capped, and is never applied to near-silence.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FRAME_SAMPLES = 1600  # 100 ms at 16 kHz
TARGET_PEAK_DBFS = -20.0  # loudest frame nearby is brought up to this ...
MAX_GAIN_DB = 24.0  # ... by at most this much
FLOOR_DBFS = -70.0  # below this nothing is raised: digital or near silence
NEIGHBOURHOOD_FRAMES = 10  # ±1 s
BLOCK_SAMPLES = 16000 * 30


def _local_peak_db(frame_db: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    padded = np.pad(frame_db, NEIGHBOURHOOD_FRAMES, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * NEIGHBOURHOOD_FRAMES + 1)
    return windows.max(axis=1)


def level_for_vad(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A copy of ``samples`` with quiet passages raised (gain 0 to +24 dB, smooth)."""
    n_frames = len(samples) // FRAME_SAMPLES
    if n_frames == 0:
        return samples
    frames = samples[:n_frames * FRAME_SAMPLES].reshape(n_frames, FRAME_SAMPLES)
    power = np.empty(n_frames, dtype=np.float64)
    step = BLOCK_SAMPLES // FRAME_SAMPLES
    for first in range(0, n_frames, step):  # float64 temporaries of one block, not of the input
        power[first:first + step] = np.mean(np.square(frames[first:first + step], dtype=np.float64), axis=1)
    frame_db = 10.0 * np.log10(power + 1e-12)
    peak_db = _local_peak_db(frame_db)
    gain_db = np.clip(TARGET_PEAK_DBFS - peak_db, 0.0, MAX_GAIN_DB)
    gain_db[peak_db < FLOOR_DBFS] = 0.0
    if not gain_db.any():
        return samples
    centres = np.arange(n_frames) * FRAME_SAMPLES + FRAME_SAMPLES // 2
    frame_gain = 10.0 ** (gain_db / 20.0)
    levelled = np.empty_like(samples)
    for start in range(0, len(samples), BLOCK_SAMPLES):  # bounded temporaries on hour-long input
        end = min(start + BLOCK_SAMPLES, len(samples))
        gain = np.interp(np.arange(start, end), centres, frame_gain).astype(np.float32)
        np.clip(samples[start:end] * gain, -1.0, 1.0, out=levelled[start:end])
    return levelled


class StreamLeveller:
    """:func:`level_for_vad` for a live stream: the gain looks back, never ahead.

    Each 100 ms frame is raised to bring the loudest frame of the last 2 s (itself
    included) to the target, with the same cap and floor; the gain moves linearly across
    a frame from the previous frame's value. Output lags input by under one frame and is
    the same however the input is cut.
    """

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._recent_db: list[float] = []
        self._gain = 1.0

    def push(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n_frames = len(audio) // FRAME_SAMPLES
        self._pending = audio[n_frames * FRAME_SAMPLES:].copy()
        out = np.empty(n_frames * FRAME_SAMPLES, dtype=np.float32)
        ramp = np.arange(1, FRAME_SAMPLES + 1, dtype=np.float64) / FRAME_SAMPLES
        for index in range(n_frames):
            frame = audio[index * FRAME_SAMPLES:(index + 1) * FRAME_SAMPLES]
            power = float(np.mean(np.square(frame, dtype=np.float64)))
            self._recent_db = [*self._recent_db[-2 * NEIGHBOURHOOD_FRAMES:], 10.0 * np.log10(power + 1e-12)]
            peak_db = max(self._recent_db)
            gain_db = 0.0 if peak_db < FLOOR_DBFS else min(max(TARGET_PEAK_DBFS - peak_db, 0.0), MAX_GAIN_DB)
            gain = 10.0 ** (gain_db / 20.0)
            curve = (self._gain + (gain - self._gain) * ramp).astype(np.float32)
            np.clip(frame * curve, -1.0, 1.0, out=out[index * FRAME_SAMPLES:(index + 1) * FRAME_SAMPLES])
            self._gain = gain
        return out
