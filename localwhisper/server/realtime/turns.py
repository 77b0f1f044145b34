"""Server VAD turns: speech probabilities per frame → speech started / stopped positions.

Run incrementally, one frame (512 samples, 32 ms) at a time, on the stream's own
timeline (absolute 16 kHz sample positions since the session began):

- idle → speaking at the first frame with p ≥ ``threshold``: :class:`SpeechStarted`
  at that frame's start (the turn begins ``prefix_padding_ms`` earlier);
- speaking → stopped once the frames since the last one with p ≥ ``threshold - 0.15``
  (Silero's hysteresis) span ``silence_duration_ms``: :class:`SpeechStopped` at the end
  of that silence, which is where the committed audio ends; the audio after it stays
  for the next turn;
- a turn that reaches ``max_turn_ms`` is stopped where it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .session_config import TurnDetection

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512
HYSTERESIS = 0.15
MAX_TURN_MS = 30_000


@dataclass(frozen=True)
class SpeechStarted:
    onset: int  # first sample of the first speech frame
    start: int  # where the turn's audio begins: onset - prefix padding, not before the floor


@dataclass(frozen=True)
class SpeechStopped:
    start: int  # the turn's audio: [start, end)
    end: int


TurnEvent = SpeechStarted | SpeechStopped


def samples_to_ms(samples: int) -> int:
    return samples * 1000 // SAMPLE_RATE


def ms_to_samples(ms: int) -> int:
    return ms * SAMPLE_RATE // 1000


class TurnDetector:
    def __init__(self, config: TurnDetection, *, max_turn_ms: int = MAX_TURN_MS) -> None:
        self.config = config
        self._prefix = ms_to_samples(config.prefix_padding_ms)
        self._silence = ms_to_samples(config.silence_duration_ms)
        self._max_turn = ms_to_samples(max_turn_ms)
        self._off = max(0.01, config.threshold - HYSTERESIS)
        self.floor = 0  # a turn never starts before this (the end of the last commit)
        self.turn_start: int | None = None  # set while speaking
        self._last_voiced_end = 0

    @property
    def speaking(self) -> bool:
        return self.turn_start is not None

    def reset(self, floor: int) -> None:
        """Forget the turn in progress (a manual commit or a clear); turns start after ``floor``."""
        self.floor = floor
        self.turn_start = None

    def push(self, probs: Iterable[float], first_sample: int) -> list[TurnEvent]:
        """Events for consecutive frames, the first one starting at sample ``first_sample``."""
        events: list[TurnEvent] = []
        for index, prob in enumerate(probs):
            start = first_sample + index * FRAME_SAMPLES
            end = start + FRAME_SAMPLES
            if end <= self.floor:
                continue
            if self.turn_start is None:
                if prob >= self.config.threshold:
                    self.turn_start = max(self.floor, start - self._prefix)
                    self._last_voiced_end = end
                    events.append(SpeechStarted(onset=max(start, self.floor), start=self.turn_start))
                continue
            if prob >= self._off:
                self._last_voiced_end = end
            silent_long_enough = prob < self._off and end - self._last_voiced_end >= self._silence
            if silent_long_enough or end - self.turn_start >= self._max_turn:
                events.append(SpeechStopped(start=self.turn_start, end=end))
                self.turn_start = None
                self.floor = end
        return events
