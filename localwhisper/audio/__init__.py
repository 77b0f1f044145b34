"""Audio in: any FFmpeg input → float32 mono 16 kHz (:mod:`.decode`, :mod:`.resample`,
:mod:`.limits`); quiet passages levelled for VAD (:mod:`.loudness`); speech spans and long-input
pieces on the original timeline (:mod:`.timeline`)."""

from localwhisper.audio.decode import AudioSource, decode_audio, stream_audio
from localwhisper.audio.limits import SAMPLE_RATE, AudioLimits

__all__ = ["SAMPLE_RATE", "AudioLimits", "AudioSource", "decode_audio", "stream_audio"]
