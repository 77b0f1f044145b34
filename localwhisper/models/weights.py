"""Which weight file of a model runs fastest on this machine: the configured one or a copy.

Measured with ``bench/speed.py`` (base, long_en_a, 2 threads, same run, same WER):
- Intel Xeon with AMX (ggml variant ``sapphirerapids``): f16 82.4 s, q8_0 **67.0 s**; the
  encoder's matrix products run on the AMX int8 tiles only for quantised weights.
- AMD Zen 5 (AVX-512 BF16, no AMX, variant ``zen4``): f16 40.8 s, q8_0 44.8 s; a 240 s
  excerpt f16 8.35 s, q8_0 7.26 s, **bf16 6.97 s**: ggml's tinyBLAS multiplies bf16 matrices
  with ``vdpbf16ps``, two products per lane, where f16 is widened to f32 first.
So a model configured with f16 weights runs its ``<file>-q8_0.bin`` copy where the CPU
variant's AMX buffer type passed the start-up probe, else its ``<file>-bf16.bin`` copy where
the variant was built for AVX512-BF16, on the CPU. The copy is what ``localwhisper models
quantize NAME q8_0|bf16`` writes, and ``ensure-defaults`` writes it for the default models.

``LOCALWHISPER_WEIGHTS``: ``auto`` (default, the rule above), ``configured`` (always the file
the YAML names), or a type such as ``q8_0`` or ``bf16`` (its copy whenever one exists).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from localwhisper.models.ggml_file import read_ggml_header

logger = logging.getLogger(__name__)

WEIGHTS_ENV = "LOCALWHISPER_WEIGHTS"
FAST_QUANT = "q8_0"  # with AMX tiles
FAST_FLOAT = "bf16"  # with AVX512-BF16 and no AMX
_UNQUANTISED = ("f16", "f32")


def weights_setting() -> str:
    return os.environ.get(WEIGHTS_ENV, "auto").strip().lower() or "auto"


def _variant_choice() -> dict:
    """The start-up probe's verdict on the loaded CPU variant ({} when there is none)."""
    try:
        import whisper_native

        return whisper_native.cpu_variant_choice() or {}
    except (ImportError, OSError):
        return {}


def amx_tiles_usable() -> bool:
    """Whether the loaded CPU variant offers AMX tiles that passed the probe's products."""
    return "AMX" in _variant_choice().get("buffers", [])


def bf16_dot_usable() -> bool:
    """Whether the loaded CPU variant was built for AVX512-BF16 (and so passed the probe)."""
    return str(_variant_choice().get("features", {}).get("AVX512_BF16")) == "1"


def machine_quant() -> str | None:
    """The weight type this machine runs faster than f16, by the measurements above."""
    if amx_tiles_usable():
        return FAST_QUANT
    return FAST_FLOAT if bf16_dot_usable() else None


def quantised_copy(path: Path, qtype: str) -> Path:
    """Where ``models quantize`` writes the ``qtype`` copy of ``path``."""
    return path.with_name(f"{path.stem}-{qtype}.bin")


def _ftype(path: Path) -> str | None:
    try:
        return read_ggml_header(path).hparams.ftype_name
    except Exception:  # a damaged copy is simply not used
        return None


def choose_weight_file(path: Path, *, on_cpu: bool, setting: str | None = None) -> Path:
    """``path`` or its quantised copy, following ``setting`` (default: the environment)."""
    setting = setting or weights_setting()
    if setting == "configured":
        return path
    qtype = (machine_quant() if on_cpu else None) if setting == "auto" else setting
    sources = ("f16",) if qtype == FAST_FLOAT else _UNQUANTISED  # bf16 is written from f16 only
    if qtype is None or _ftype(path) not in sources:
        return path
    copy = quantised_copy(path, qtype)
    if copy.is_file() and _ftype(copy) == qtype:
        logger.info("%s: running its %s copy %s (%s=%s)", path.name, qtype, copy.name, WEIGHTS_ENV, setting)
        return copy
    if setting == "auto":
        logger.info("%s: this CPU runs %s weights faster; `localwhisper models quantize <model> %s` "
                    "writes the copy that would be used", path.name, qtype, qtype)
    return path
