"""The compute-device setting (``LOCALWHISPER_DEVICE``, ``--device``): auto, cpu, cuda, cuda:N.

Parsing needs no native library (settings validate it at start-up); resolving it asks ggml
which GPUs are registered and maps the answer onto the context flags ``use_gpu`` and
``gpu_device``. ``auto`` takes the first GPU, else the CPU with one INFO line saying why;
an explicit ``cuda`` that cannot be met is :class:`~localwhisper.errors.DeviceUnavailable`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from localwhisper.errors import DeviceUnavailable
from whisper_native.devices import DEVICE_ENV, DevicePlan, parse_device, plan_device
from whisper_native.devices import DeviceUnavailable as NoSuchDevice

if TYPE_CHECKING:
    from whisper_native import ContextOptions

__all__ = ["DEVICE_ENV", "context_options_for", "parse_device", "resolve_device"]
logger = logging.getLogger(__name__)


def resolve_device(device: str) -> DevicePlan:
    """What ``device`` runs on here; :class:`DeviceUnavailable` when it names a missing GPU."""
    try:
        return plan_device(device)
    except NoSuchDevice as exc:
        raise DeviceUnavailable(str(exc)) from exc


def context_options_for(device: str, *, flash_attn: bool = True) -> ContextOptions:
    """Context flags for a device setting (logs the device chosen, once per model load)."""
    from whisper_native import ContextOptions

    plan = resolve_device(device)
    logger.info("%s", plan.describe())
    return ContextOptions(use_gpu=plan.use_gpu, gpu_device=plan.gpu_device, flash_attn=flash_attn)
