"""Silero speech probabilities over a live 16 kHz stream, one per 32 ms frame.

``SpeechProbabilities.feed(samples)`` takes audio in pieces of any length and returns the
probability of every frame it completed; the model's recurrent state runs on across calls,
so the probabilities do not depend on how the stream was cut. Each stream owns its own
VAD context (the model file is under a megabyte; recurrent state cannot be shared).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from localwhisper.errors import InvalidValue
from whisper_native import VadModel

FRAME_SAMPLES = 512  # Silero's frame at 16 kHz


class SpeechProbabilities:
    def __init__(self, vad_model_path: str | Path) -> None:
        path = Path(vad_model_path)
        if not path.is_file():
            raise InvalidValue(f"server VAD needs the Silero VAD model, which is not installed "
                               f"({path.name}); run `localwhisper models ensure-defaults`",
                               param="turn_detection")
        self._vad = VadModel(path, n_threads=1)
        self._pending = np.zeros(0, dtype=np.float32)
        self.frames = 0  # frames scored since the start
        self._fresh = True

    def feed(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities of the whole frames completed by ``samples`` (possibly none)."""
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(audio) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = audio[whole:].copy()
        if whole == 0:
            return np.zeros(0, dtype=np.float32)
        probs = self._vad.frame_probabilities(audio[:whole], reset=self._fresh)
        self._fresh = False
        self.frames += len(probs)
        return probs

    def restart(self) -> None:
        """Forget the stream so far: the next sample fed is the start of a new one."""
        self._pending = np.zeros(0, dtype=np.float32)
        self.frames = 0
        self._fresh = True

    def close(self) -> None:
        self._vad.close()
