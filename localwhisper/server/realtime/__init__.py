"""Realtime transcription over WebSocket (``/v1/realtime``), in OpenAI's GA and beta dialects.

Modules, one job each: ``events`` (parsing and building events), ``audio_codecs`` (PCM16
and G.711 decoding), ``stream_resampler`` (to 16 kHz, independent of the chunking),
``session_config`` (settings of both dialects), ``turns`` (the server VAD turn detector),
``input_audio`` (the audio path of a session), ``transcriber`` (committed turns → deltas
and transcripts), ``session`` (the event loop of one session), ``hub`` (counters and
metrics), ``route`` (the endpoint).
"""

from __future__ import annotations

from .hub import Counters, realtime_counters
from .route import ROUTES

__all__ = ["ROUTES", "Counters", "realtime_counters"]
