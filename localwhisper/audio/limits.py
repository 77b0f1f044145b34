"""What decoding accepts: the output rate and :class:`AudioLimits`, and the messages of their errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

from localwhisper.errors import AudioTooLong

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioLimits:
    """Bounds on what :func:`decode_audio` accepts.

    ``max_duration_s`` caps the decoded audio (3 h ≈ 691 MB of float32 samples);
    ``max_input_bytes`` optionally caps the encoded input size (``None``: no cap).
    """

    max_duration_s: float = 3 * 3600.0
    max_input_bytes: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_duration_s) and self.max_duration_s > 0):
            raise ValueError(f"max_duration_s must be a positive number, not {self.max_duration_s!r}")
        if self.max_input_bytes is not None and self.max_input_bytes <= 0:
            raise ValueError(f"max_input_bytes must be positive or None, not {self.max_input_bytes!r}")

    @property
    def max_decoded_samples(self) -> int:
        return int(self.max_duration_s * SAMPLE_RATE)



DEFAULT_LIMITS = AudioLimits()  # 3 h, no input size cap

def too_long(limits: AudioLimits) -> AudioTooLong:
    return AudioTooLong(f"The audio is longer than the maximum of {format_duration(limits.max_duration_s)}.",
                        param="file")


def format_duration(seconds: float) -> str:
    whole = int(seconds)
    if whole != seconds or whole < 60:
        return f"{seconds:g} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


def format_bytes(size: int) -> str:
    return f"{size / 1e6:,.6g} MB" if size >= 1_000_000 else f"{size:,} bytes"
