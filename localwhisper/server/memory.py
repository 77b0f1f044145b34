"""The server's memory budget: admit a transcription only when it fits, and give memory back.

Each request is admitted against an estimate of what it will hold (two pieces of decoded
audio, their log-mel, VAD copies): if the process's resident memory plus what admitted
requests may still allocate plus this estimate exceeds the budget, the request gets a 503
with ``Retry-After`` instead of the whole pod being OOM-killed. The budget defaults to
90 % of the cgroup memory limit when there is one, else 80 % of physical memory.

glibc keeps freed memory in per-thread arenas and in a heap whose mmap threshold grows
after every large free, so a server that decodes large arrays on many worker threads
keeps growing. :func:`tune_allocator` caps the arenas and pins the mmap threshold (large
arrays then come from mmap and go back to the OS when freed); :func:`trim` returns the
heap's free pages when the server goes idle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading

from localwhisper.audio.timeline import CHUNK_SECONDS, CUT_SEARCH_SECONDS, SAMPLE_RATE
from localwhisper.errors import ServerBusy
from localwhisper.resources import cgroup_memory_limit, physical_memory, resident_bytes

log = logging.getLogger(__name__)
MIB = 1 << 20
_PIECE_BYTES = (CHUNK_SECONDS + CUT_SEARCH_SECONDS + 30) * SAMPLE_RATE * 4
REQUEST_ESTIMATE_BYTES = 2 * _PIECE_BYTES + 24 * MIB  # two pieces held at a cut, log-mel, buffers
VAD_EXTRA_BYTES = 2 * _PIECE_BYTES  # the levelled copy and the packed speech
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8


def default_budget() -> int:
    limit = cgroup_memory_limit()
    return int(limit * 0.9) if limit is not None else int(physical_memory() * 0.8)


def parse_memory(raw: str) -> int | None:
    """"auto" → None (the default budget), "off"/"0" → 0 (no budget), else bytes: 2G, 1500M, 123."""
    text = raw.strip().lower()
    if text in ("", "auto"):
        return None
    if text in ("off", "0", "none"):
        return 0
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    number = text.rstrip("ib")
    scale = units.get(number[-1:], 1)
    value = float(number[:-1] if number[-1:] in units else number) * scale
    if value < 64 * MIB:
        raise ValueError(f"a memory budget under 64 MiB cannot hold a model: {raw!r}")
    return int(value)


def resolve_budget(setting: int | None) -> int | None:
    """The budget in bytes for a ``max_memory`` setting (None: the default; 0: no budget)."""
    if setting == 0:
        return None
    return default_budget() if setting is None else setting


def request_estimate(*, vad: bool) -> int:
    return REQUEST_ESTIMATE_BYTES + (VAD_EXTRA_BYTES if vad else 0)


class MemoryBudget:
    """Admissions against ``limit_bytes`` of resident memory (None: no limit)."""

    def __init__(self, limit_bytes: int | None) -> None:
        self.limit_bytes = limit_bytes
        self.reserved = 0
        self._lock = threading.Lock()

    def admit(self, estimate: int) -> int:
        """Reserve ``estimate`` bytes or raise :class:`ServerBusy`; returns what to release."""
        if self.limit_bytes is None:
            return 0
        with self._lock:
            in_use = resident_bytes()
            if in_use + self.reserved + estimate > self.limit_bytes:
                raise ServerBusy(
                    f"The server's memory budget ({self.limit_bytes // MIB} MiB) cannot take another "
                    f"transcription now ({in_use // MIB} MiB in use, {self.reserved // MIB} MiB promised "
                    "to running ones); retry shortly.")
            self.reserved += estimate
            return estimate

    def release(self, reservation: int) -> None:
        with self._lock:
            self.reserved -= reservation


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


def tune_allocator() -> bool:
    """At most 2 malloc arenas and a fixed 4 MiB mmap threshold (glibc only; False elsewhere)."""
    libc = _libc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(M_ARENA_MAX, 2)) and bool(libc.mallopt(M_MMAP_THRESHOLD, 4 * MIB))
    libc.mallopt(M_TRIM_THRESHOLD, 16 * MIB)
    return ok


def trim() -> None:
    """Give the heap's free pages back to the OS (glibc ``malloc_trim``)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
