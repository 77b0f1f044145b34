"""Input audio formats of the realtime API and their decoders to float32 samples.

======================  =============================================  ========
beta ``input_audio_format``  GA ``audio.input.format``                 rate
======================  =============================================  ========
``pcm16``               ``{"type": "audio/pcm", "rate": 24000}``       24 kHz
``g711_ulaw``           ``{"type": "audio/pcmu"}``                     8 kHz
``g711_alaw``           ``{"type": "audio/pcma"}``                     8 kHz
======================  =============================================  ========

PCM16 is little-endian mono; an append may end in the middle of a sample, so the odd
byte waits for the next one. GA ``audio/pcm`` also takes rates 8000, 16000 and 48000
here (OpenAI allows only 24000). G.711 is decoded through 256-entry tables built from
the ITU-T G.711 segment formulas (the same values libavcodec's ``pcm_mulaw``/``pcm_alaw``
give).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from localwhisper.errors import InvalidEvent

PCM_RATES = (8000, 16000, 24000, 48000)
_BETA_NAMES = {"pcm16": "pcm16", "g711_ulaw": "g711_ulaw", "g711_alaw": "g711_alaw"}
_GA_TYPES = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_GA_NAMES = {codec: name for name, codec in _GA_TYPES.items()}


@dataclass(frozen=True)
class AudioFormat:
    codec: str = "pcm16"  # pcm16, g711_ulaw or g711_alaw
    rate: int = 24000

    @property
    def beta(self) -> str:
        return self.codec

    @property
    def ga(self) -> dict[str, Any]:
        value: dict[str, Any] = {"type": _GA_NAMES[self.codec]}
        if self.codec == "pcm16":
            value["rate"] = self.rate
        return value


def parse_beta_format(value: Any, param: str) -> AudioFormat:
    if value not in _BETA_NAMES:
        raise InvalidEvent(f"Invalid value {value!r}: the input audio format must be one of "
                           f"{', '.join(_BETA_NAMES)}.", code="invalid_value", param=param)
    return AudioFormat(value, 24000 if value == "pcm16" else 8000)


def parse_ga_format(value: Any, param: str) -> AudioFormat:
    if not isinstance(value, dict) or value.get("type") not in _GA_TYPES:
        raise InvalidEvent(f"Invalid value {value!r}: the format must be an object with type "
                           f"{', '.join(_GA_TYPES)}.", code="invalid_value", param=param)
    codec = _GA_TYPES[value["type"]]
    if codec != "pcm16":
        return AudioFormat(codec, 8000)
    rate = value.get("rate", 24000)
    if isinstance(rate, bool) or rate not in PCM_RATES:
        rates = ", ".join(str(r) for r in PCM_RATES)
        raise InvalidEvent(f"Invalid rate {rate!r}: audio/pcm takes {rates} Hz.", code="invalid_value",
                           param=f"{param}.rate")
    return AudioFormat(codec, int(rate))


def _mulaw_table() -> npt.NDArray[np.float32]:
    values = np.empty(256, dtype=np.float32)
    for byte in range(256):
        u = ~byte & 0xFF
        exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
        magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
        values[byte] = (-magnitude if u & 0x80 else magnitude) / 32768.0
    return values


def _alaw_table() -> npt.NDArray[np.float32]:
    values = np.empty(256, dtype=np.float32)
    for byte in range(256):
        a = byte ^ 0x55
        exponent, mantissa = (a >> 4) & 0x07, a & 0x0F
        magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        values[byte] = (magnitude if a & 0x80 else -magnitude) / 32768.0
    return values


MULAW_TABLE = _mulaw_table()
ALAW_TABLE = _alaw_table()


def decode_base64(text: Any, max_bytes: int) -> bytes:
    """The bytes of an append's ``audio`` field, refusing oversize ones before decoding them."""
    if not isinstance(text, str):
        raise InvalidEvent("'audio' must be a base64 string.", code="invalid_value", param="audio")
    size = len(text) // 4 * 3
    if size > max_bytes:
        raise InvalidEvent(f"The audio in one append may not exceed {max_bytes} bytes (this one has about "
                           f"{size}).", code="audio_too_large", param="audio")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEvent("'audio' is not valid base64.", code="invalid_base64", param="audio") from None


class AudioDecoder:
    """Bytes of one format → float32 samples at that format's rate, across appends."""

    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        self._odd = b""

    def decode(self, data: bytes) -> npt.NDArray[np.float32]:
        if self.format.codec == "g711_ulaw":
            return MULAW_TABLE[np.frombuffer(data, dtype=np.uint8)]
        if self.format.codec == "g711_alaw":
            return ALAW_TABLE[np.frombuffer(data, dtype=np.uint8)]
        data = self._odd + data
        whole = len(data) // 2 * 2
        self._odd = data[whole:]
        pcm = np.frombuffer(data, dtype="<i2", count=whole // 2)
        return pcm.astype(np.float32) * np.float32(1 / 32768)
