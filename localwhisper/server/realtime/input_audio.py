"""A session's input audio: decode → resample to 16 kHz → buffer, and server VAD on the way.

:meth:`InputAudio.feed` runs in a worker thread (the VAD is native code): it decodes one
append, resamples it, stores it in the session's buffer (bounded by ``max_buffer_s``) and,
with server VAD on, levels a copy (:class:`~localwhisper.audio.loudness.StreamLeveller`, so
quiet speakers are heard) and scores it with Silero. It returns the turn events in order;
a stopped turn carries its audio, cut from the buffer at once. While nobody speaks the
buffer keeps only the prefix padding. Positions are 16 kHz samples since the session began.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from localwhisper.audio.loudness import StreamLeveller
from localwhisper.errors import InvalidEvent
from localwhisper.transcribe.vad_stream import SpeechProbabilities

from .audio_codecs import AudioDecoder
from .session_config import SessionConfig, TurnDetection
from .stream_resampler import StreamResampler
from .turns import (
    FRAME_SAMPLES,
    MAX_TURN_MS,
    SAMPLE_RATE,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
    ms_to_samples,
)


@dataclass(frozen=True)
class Turn:
    """Committed audio: samples from ``start`` to ``end`` on the session timeline."""

    start: int
    end: int
    samples: npt.NDArray[np.float32]


Event = SpeechStarted | Turn


class SampleBuffer:
    """Samples from position ``start`` to ``end``, kept as the chunks they arrived in."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._chunks: list[npt.NDArray[np.float32]] = []
        self.start = 0
        self.end = 0

    @property
    def size(self) -> int:
        return self.end - self.start

    def append(self, samples: npt.NDArray[np.float32]) -> None:
        if self.size + len(samples) > self.max_samples:
            raise InvalidEvent(
                f"The input audio buffer is full ({self.max_samples // SAMPLE_RATE} s uncommitted); "
                "commit or clear it. This append was dropped.", code="input_audio_buffer_full", param="audio")
        if len(samples):
            self._chunks.append(samples)
            self.end += len(samples)

    def cut(self, start: int, end: int) -> npt.NDArray[np.float32]:
        """A copy of [start, end) (clamped to what is held); everything before ``end`` is dropped."""
        data = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        lo, hi = max(start, self.start) - self.start, min(end, self.end) - self.start
        piece = data[lo:hi].copy() if hi > lo else np.zeros(0, np.float32)
        self._chunks = [data[hi:]] if hi < len(data) else []
        self.start = max(self.start, min(end, self.end))
        return piece

    def drop_before(self, position: int) -> None:
        while self._chunks and self.start + len(self._chunks[0]) <= position:
            self.start += len(self._chunks.pop(0))
        if self._chunks and position > self.start:
            self._chunks[0] = self._chunks[0][position - self.start:]
            self.start = position


class InputAudio:
    def __init__(self, config: SessionConfig, vad_model_path: Path | None, max_buffer_s: float) -> None:
        self.buffer = SampleBuffer(int(max_buffer_s * SAMPLE_RATE))
        self._max_turn_ms = max(1000, min(MAX_TURN_MS, int(max_buffer_s * 1000) - 1000))
        self._vad_model_path = vad_model_path
        self._probabilities: SpeechProbabilities | None = None
        self._leveller = StreamLeveller()
        self._detector: TurnDetector | None = None
        self._vad_origin = 0  # session position of the first sample the VAD saw
        self._format = config.audio_format
        self._decoder = AudioDecoder(config.audio_format)
        self._resampler = StreamResampler(config.audio_format.rate)
        self.configure(config)

    def configure(self, config: SessionConfig) -> None:
        """Apply a (possibly changed) format and turn detection; buffered audio stays."""
        self._set_turn_detection(config.turn_detection)  # first: it is the part that can fail
        if config.audio_format != self._format:
            self._format = config.audio_format
            self._decoder = AudioDecoder(config.audio_format)
            self._resampler = StreamResampler(config.audio_format.rate)

    def _set_turn_detection(self, turns: TurnDetection | None) -> None:
        if turns is None:
            self._detector = None
            return
        if self._detector is not None and self._detector.config == turns:
            return
        if self._detector is None:  # VAD starts (again) here: it sees the stream from now on
            if self._probabilities is None:
                if self._vad_model_path is None:
                    raise InvalidEvent("Server VAD needs a VAD model, and none is configured.",
                                       code="invalid_value", param="turn_detection")
                self._probabilities = SpeechProbabilities(self._vad_model_path)
            self._probabilities.restart()
            self._leveller = StreamLeveller()
            self._vad_origin = self.buffer.end
        self._detector = TurnDetector(turns, max_turn_ms=self._max_turn_ms)
        self._detector.reset(self.buffer.end)

    @property
    def speaking(self) -> bool:
        return self._detector is not None and self._detector.speaking

    def feed(self, data: bytes) -> list[Event]:
        """One append's bytes; the turn events they complete (thread-safe per session only)."""
        samples = self._resampler.push(self._decoder.decode(data))
        self.buffer.append(samples)
        if self._detector is None or self._probabilities is None:
            return []
        scored_from = self._vad_origin + self._probabilities.frames * FRAME_SAMPLES
        probs = self._probabilities.feed(self._leveller.push(samples))
        events: list[Event] = []
        for event in self._detector.push(probs.tolist(), scored_from):
            if isinstance(event, SpeechStopped):
                events.append(Turn(event.start, event.end, self.buffer.cut(event.start, event.end)))
            else:
                events.append(event)
        if not self._detector.speaking:  # idle: keep only what a turn starting now could need
            scored_to = self._vad_origin + self._probabilities.frames * FRAME_SAMPLES
            self.buffer.drop_before(scored_to - ms_to_samples(self._detector.config.prefix_padding_ms))
        return events

    def commit(self) -> Turn:
        """Everything buffered, as one turn (a manual commit); the turn in progress ends."""
        start, end = self.buffer.start, self.buffer.end
        turn = Turn(start, end, self.buffer.cut(start, end))
        if self._detector is not None:
            self._detector.reset(end)
        return turn

    def clear(self) -> None:
        self.buffer.cut(self.buffer.start, self.buffer.end)
        if self._detector is not None:
            self._detector.reset(self.buffer.end)

    def close(self) -> None:
        if self._probabilities is not None:
            self._probabilities.close()
            self._probabilities = None
