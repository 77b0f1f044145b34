"""Container limits (cgroup v2 and v1), the memory budget's arithmetic and its parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from localwhisper import resources
from localwhisper.errors import ServerBusy
from localwhisper.server import memory


def _cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


def test_cgroup_v2_cpu_quota_caps_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda _pid: set(range(64)))
    root = _cgroup(tmp_path, {"cpu.max": "400000 100000", "memory.max": "2147483648"})
    assert resources.cgroup_cpu_limit(root) == 4.0
    assert resources.available_cores(root) == 4  # a 4-CPU pod on a 64-core node
    assert resources.cgroup_memory_limit(root) == 2 << 30
    half = _cgroup(tmp_path / "half", {"cpu.max": "150000 100000"})
    assert resources.available_cores(half) == 2  # 1.5 CPUs: two threads, not one


def test_unlimited_cgroups_and_v1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda _pid: set(range(8)))
    unlimited = _cgroup(tmp_path / "v2", {"cpu.max": "max 100000", "memory.max": "max"})
    assert resources.cgroup_cpu_limit(unlimited) is None and resources.cgroup_memory_limit(unlimited) is None
    assert resources.available_cores(unlimited) == 8
    v1 = _cgroup(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000",
                                   "memory/memory.limit_in_bytes": str(1 << 62)})
    assert resources.cgroup_cpu_limit(v1) == 2.0 and resources.cgroup_memory_limit(v1) is None
    assert resources.cgroup_cpu_limit(tmp_path / "absent") is None


def test_the_pool_plans_threads_from_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    from localwhisper.transcribe import pool

    monkeypatch.setattr(pool, "available_cores", lambda: 4)
    states, threads = pool.plan_parallelism(None, None)
    assert states * threads <= 4


@pytest.mark.parametrize(("raw", "expected"), [
    ("auto", None), ("", None), ("off", 0), ("0", 0), ("2G", 2 << 30), ("1500M", 1500 << 20),
    ("1.5GiB", int(1.5 * (1 << 30))), ("268435456", 1 << 28)])
def test_parse_memory(raw: str, expected: int | None) -> None:
    assert memory.parse_memory(raw) == expected


def test_parse_memory_refuses_nonsense() -> None:
    for raw in ("12", "lots", "-1G"):
        with pytest.raises(ValueError):
            memory.parse_memory(raw)


def test_budget_admits_what_fits_and_refuses_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "resident_bytes", lambda: 500 << 20)
    budget = memory.MemoryBudget(800 << 20)
    first = budget.admit(200 << 20)
    with pytest.raises(ServerBusy, match="memory budget"):
        budget.admit(200 << 20)  # 500 in use + 200 promised + 200 > 800
    budget.release(first)
    budget.release(budget.admit(200 << 20))
    assert budget.reserved == 0
    assert memory.MemoryBudget(None).admit(1 << 40) == 0  # no budget: everything is admitted


def test_default_budget_follows_the_cgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "cgroup_memory_limit", lambda: 2 << 30)
    assert memory.default_budget() == int((2 << 30) * 0.9)
    assert memory.resolve_budget(0) is None and memory.resolve_budget(123 << 20) == 123 << 20
    monkeypatch.setattr(memory, "cgroup_memory_limit", lambda: None)
    assert memory.default_budget() == int(resources.physical_memory() * 0.8)
