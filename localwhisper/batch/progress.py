"""A batch's tally: the progress bar on a terminal and the closing summary.

The bar is drawn on stderr only when it is a terminal; it counts files and the audio
the containers' headers announce. The summary (ok / error / skipped, audio hours,
wall time, audio hours per hour) is printed at the end and also closes the run's
part of the manifest.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from localwhisper.batch.manifest import Record

BAR_WIDTH = 30


@dataclass
class Summary:
    runner: str = ""
    ok: int = 0
    error: int = 0
    skipped: int = 0
    ignored: int = 0  # files in the walked folders that were not audio
    retried: int = 0  # files that needed more than one try (a worker died)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False

    @property
    def audio_hours_per_hour(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def add(self, record: Record) -> None:
        if record.ok:
            self.ok += 1
            self.audio_seconds += record.audio_seconds
        else:
            self.error += 1
        if record.attempts > 1:
            self.retried += 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["audio_seconds"] = round(self.audio_seconds, 3)
        out["wall_seconds"] = round(self.wall_seconds, 3)
        out["audio_hours_per_hour"] = round(self.audio_hours_per_hour, 2)
        return out

    def lines(self) -> list[str]:
        hours = self.audio_seconds / 3600
        head = "interrupted" if self.interrupted else "done"
        extra = "".join(f", {n} {label}" for n, label in ((self.ignored, "not audio (ignored)"),
                                                          (self.retried, "retried")) if n)
        counts = f"{self.ok} ok, {self.error} error, {self.skipped} skipped"
        return [f"batch {head} ({self.runner}): {counts}{extra}",
                f"{hours:.3f} h of audio in {self.wall_seconds:.1f} s: "
                f"{self.audio_hours_per_hour:.1f} audio hours per hour"]


class Progress:
    """Redraws one status line per finished file (only on a terminal)."""

    def __init__(self, stream: TextIO, total_files: int, total_audio_ms: int) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total_files = total_files
        self.total_audio_s = total_audio_ms / 1000
        self.done = 0
        self.audio_s = 0.0
        self.started = time.monotonic()

    def advance(self, record: Record) -> None:
        self.done += 1
        self.audio_s += record.audio_seconds
        if not record.ok:
            self.message(f"{record.input}: {record.error_type}: {record.error}")
        self.draw()

    def message(self, text: str) -> None:
        """A line above the bar (errors), so the bar stays the last line."""
        if self.enabled:
            self.stream.write("\r\033[K")
        self.stream.write(f"localwhisper: {text}\n")
        self.draw()

    def draw(self) -> None:
        if not self.enabled or not self.total_files:
            return
        fraction = min(1.0, self.done / self.total_files)
        if self.total_audio_s > 0:
            fraction = min(1.0, self.audio_s / self.total_audio_s)
        filled = int(fraction * BAR_WIDTH)
        elapsed = time.monotonic() - self.started
        speed = self.audio_s / elapsed if elapsed > 0 else 0.0
        eta = (1 - fraction) * elapsed / fraction if fraction > 0 else 0.0
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total_files} "
                          f"files, {speed:.1f}x real time, ETA {eta:.0f} s\033[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
