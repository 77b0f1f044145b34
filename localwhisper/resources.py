"""What this process may use: CPU cores and memory, container limits included.

A pod limited to 4 CPUs on a 64-core node sees 64 cores in ``os.cpu_count()``; starting
64 threads there makes whisper.cpp's spinning workers 10-30x slower. The cgroup v2
files (v1 as a fallback) say what the container really has.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs the cgroup quota allows (``cpu.max`` "quota period"), or None when unlimited."""
    line = _read(root / "cpu.max")
    if line:
        quota, _, period = line.partition(" ")
        if quota != "max" and period:
            return int(quota) / int(period)
        return None
    quota_v1, period_v1 = _read(root / "cpu" / "cpu.cfs_quota_us"), _read(root / "cpu" / "cpu.cfs_period_us")
    if quota_v1 and period_v1 and int(quota_v1) > 0:
        return int(quota_v1) / int(period_v1)
    return None


def cgroup_memory_limit(root: Path = CGROUP_ROOT) -> int | None:
    """Bytes the cgroup may use (``memory.max``), or None when unlimited."""
    value = _read(root / "memory.max") or _read(root / "memory" / "memory.limit_in_bytes")
    if not value or value == "max":
        return None
    limit = int(value)
    return None if limit >= 1 << 60 else limit  # v1 writes "unlimited" as a huge number


def available_cores(root: Path = CGROUP_ROOT) -> int:
    """Cores this process may run on: CPU affinity, capped by the cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(root)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def physical_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def resident_bytes() -> int:
    """This process's resident set size now."""
    fields = _read(Path("/proc/self/statm"))
    if not fields:
        return 0
    return int(fields.split()[1]) * os.sysconf("SC_PAGE_SIZE")
