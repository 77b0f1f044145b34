"""``manifest.jsonl``: one JSON line per processed input, appended and fsynced.

A line is written only after the input's outputs are renamed into place, so a line
with ``"status": "ok"`` always describes files that exist in full. Each run ends with
one ``{"summary": {...}}`` line. Reading back takes the last line of each input and
drops a torn final line (a run killed while writing it); the next append starts on a
fresh line. One run at a time holds the manifest (an exclusive ``flock``), so two
batches cannot interleave their work in one output tree.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from localwhisper.errors import BatchError

# Errors that belong to the file itself: rerunning the same file cannot change them.
PERMANENT_ERRORS = frozenset({"InvalidAudio", "AudioTooLong", "FileTooLarge"})


@dataclass(frozen=True)
class Record:
    """What became of one input: a manifest line."""

    input: str  # the input's path below the inputs' common root
    path: str  # the input file as read
    status: str  # "ok" or "error"
    audio_seconds: float = 0.0
    language: str | None = None
    language_probability: float | None = None
    wall_seconds: float = 0.0
    outputs: dict[str, int] = field(default_factory=dict)  # relative output path → bytes
    error_type: str | None = None
    error: str | None = None
    options_key: str = ""
    source_size: int = -1
    source_mtime_ns: int = 0
    attempts: int = 1
    worker: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def read_records(path: str | os.PathLike[str]) -> dict[str, Record]:
    """The latest record of each input in the manifest at ``path`` (empty when there is none)."""
    records: dict[str, Record] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue  # a torn last line from a killed run
        if isinstance(data, dict) and "input" in data and "status" in data:
            try:
                record = Record.from_dict(data)
            except TypeError:
                continue
            records[record.input] = record
    return records


def read_summaries(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    summaries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("summary"), dict):
            summaries.append(data["summary"])
    return summaries


class Manifest:
    """The append side: holds the lock for the whole run."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise BatchError(f"another batch is writing {self.path}; wait for it to finish") from None
        self.previous = read_records(self.path)
        self._repair_tail()

    def _repair_tail(self) -> None:
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            self._write("")  # end the torn line so the next record starts on its own line

    def _write(self, line: str) -> None:
        os.write(self._fd, (line + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def append(self, record: Record) -> None:
        self._write(record.to_json())

    def append_summary(self, summary: dict[str, Any]) -> None:
        self._write(json.dumps({"summary": summary}, ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
