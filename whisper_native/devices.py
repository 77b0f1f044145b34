"""Which devices ggml offers (CPU, GPUs with their memory) and which one a context uses.

A device setting is ``auto`` (the first GPU when there is one, else the CPU), ``cpu``, or
``cuda``/``cuda:N`` (``gpu``/``gpu:N`` alike: any GPU backend). :func:`plan_device` maps it
onto ``whisper_context_params.use_gpu``/``gpu_device``; an explicit GPU request that this
build or machine cannot meet raises :class:`DeviceUnavailable` with the reason, instead of
quietly running on the CPU.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

from . import _loader

DEVICE_ENV = _loader.DEVICE_ENV
_SPEC = re.compile(r"^(auto|cpu|cuda|gpu)(?::(\d+))?$")
_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel", 4: "meta"}


class DeviceUnavailable(RuntimeError):
    """The device setting asks for a GPU that this build or this machine does not have."""


@dataclass(frozen=True)
class Device:
    """One ggml device: ``name`` like "CPU" or "CUDA0", ``kind`` cpu/gpu/igpu/accel."""

    index: int
    name: str
    description: str
    kind: str
    memory_total: int  # bytes
    memory_free: int

    @property
    def is_gpu(self) -> bool:
        return self.kind in ("gpu", "igpu")

    def label(self) -> str:
        if not self.is_gpu:
            return f"{self.name} ({self.description})"
        return f"{self.name} ({self.description}, {self.memory_total / 2**30:.1f} GiB)"


@dataclass(frozen=True)
class DevicePlan:
    """What a device setting resolved to: the context flags and the device they pick."""

    requested: str
    use_gpu: bool
    gpu_device: int  # index among the GPU devices, as whisper_context_params counts them
    device: Device | None  # the GPU; None when the CPU runs
    reason: str

    def describe(self) -> str:
        target = self.device.label() if self.device else "CPU"
        return f"device {self.requested}: {target}" + (f" ({self.reason})" if self.reason else "")


def parse_device(spec: str) -> str:
    """Normalise a device setting ("CUDA:1" → "cuda:1"); ValueError when it is none of the forms."""
    value = spec.strip().lower()
    match = _SPEC.match(value)
    if not match or (match.group(1) in ("auto", "cpu") and match.group(2) is not None):
        raise ValueError(f"unknown device {spec!r}: expected auto, cpu, cuda or cuda:N")
    return value


def list_devices() -> list[Device]:
    """Every device of every registered backend, in ggml's order (GPUs first)."""
    from . import ggml_backend_h as G

    found = []
    for index in range(G.ggml_backend_dev_count()):
        device = G.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        G.ggml_backend_dev_memory(device, ctypes.byref(free), ctypes.byref(total))
        found.append(Device(index=index, name=G.ggml_backend_dev_name(device).decode(),
                            description=(G.ggml_backend_dev_description(device) or b"").decode(),
                            kind=_KINDS.get(G.ggml_backend_dev_type(device), "unknown"),
                            memory_total=total.value, memory_free=free.value))
    return found


def backends() -> dict[str, int]:
    """Registered backends and how many devices each has, e.g. {"CUDA": 1, "CPU": 1}."""
    from . import ggml_backend_h as G

    regs = (G.ggml_backend_reg_get(i) for i in range(G.ggml_backend_reg_count()))
    return {G.ggml_backend_reg_name(reg).decode(): G.ggml_backend_reg_dev_count(reg) for reg in regs}


def gpu_devices() -> list[Device]:
    return [device for device in list_devices() if device.is_gpu]


def _why_no_gpu() -> str:
    notes = _loader.gpu_backend_notes()
    if notes:
        return "; ".join(notes)
    return ("this build has no GPU backend (rebuild with CMAKE_ARGS=\"-DGGML_CUDA=on\" make build)")


def plan_device(spec: str = "auto", gpus: list[Device] | None = None) -> DevicePlan:
    """Resolve a device setting against the GPUs present (``gpus``: those of :func:`gpu_devices`)."""
    requested = parse_device(spec)
    if requested == "cpu":
        return DevicePlan(requested, use_gpu=False, gpu_device=0, device=None, reason="")
    gpus = gpu_devices() if gpus is None else gpus
    if requested == "auto":
        if gpus:
            return DevicePlan(requested, use_gpu=True, gpu_device=0, device=gpus[0], reason="")
        return DevicePlan(requested, use_gpu=False, gpu_device=0, device=None,
                          reason=f"no GPU: {_why_no_gpu()}")
    kind, _, number = requested.partition(":")
    wanted = int(number or 0)
    # cuda:N is the device ggml names CUDA<N>; gpu:N the N-th GPU of any backend
    candidates = [(position, gpu) for position, gpu in enumerate(gpus)
                  if kind == "gpu" or gpu.name.upper() == f"CUDA{wanted}"]
    if kind == "gpu":
        candidates = candidates[wanted:wanted + 1]
    if not candidates:
        have = ", ".join(gpu.name for gpu in gpus) or "none"
        reason = f"GPUs present: {have}" if gpus else _why_no_gpu()
        raise DeviceUnavailable(f"device {spec!r} is not available: {reason}. "
                                f"Use --device cpu or auto ({DEVICE_ENV}=cpu|auto).")
    position, gpu = candidates[0]
    return DevicePlan(requested, use_gpu=True, gpu_device=position, device=gpu, reason="")
