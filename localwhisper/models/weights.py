"""Which weight file of a model runs fastest on this machine: the configured one or its q8_0 copy.

Measured with ``bench/speed.py`` (base, long_en_a, 2 threads, same run, same WER):
- Intel Xeon with AMX (ggml variant ``sapphirerapids``): f16 82.4 s, q8_0 **67.0 s**; the
  encoder's matrix products run on the AMX int8 tiles only for quantised weights.
- AMD Zen 5 (AVX-512, no AMX, variant ``zen4``): f16 **40.8 s**, q8_0 44.8 s.
So a model configured with f16 (or f32) weights runs its ``<file>-q8_0.bin`` copy when the
CPU variant's AMX buffer type passed the start-up probe and the model runs on the CPU. The
copy is what ``localwhisper models quantize NAME q8_0`` writes, and ``ensure-defaults``
writes it for the default models on such machines.

``LOCALWHISPER_WEIGHTS``: ``auto`` (default, the rule above), ``configured`` (always the file
the YAML names), or a quantisation type such as ``q8_0`` (its copy whenever one exists).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from localwhisper.models.ggml_file import read_ggml_header

logger = logging.getLogger(__name__)

WEIGHTS_ENV = "LOCALWHISPER_WEIGHTS"
FAST_QUANT = "q8_0"
_UNQUANTISED = ("f16", "f32")


def weights_setting() -> str:
    return os.environ.get(WEIGHTS_ENV, "auto").strip().lower() or "auto"


def amx_tiles_usable() -> bool:
    """Whether the loaded CPU variant offers AMX tiles that passed the probe's products."""
    try:
        import whisper_native

        choice = whisper_native.cpu_variant_choice()
    except (ImportError, OSError):
        return False
    return bool(choice) and "AMX" in choice.get("buffers", [])


def machine_quant() -> str | None:
    """The quantisation this machine runs faster than f16, by the measurements above."""
    return FAST_QUANT if amx_tiles_usable() else None


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
    if qtype is None or _ftype(path) not in _UNQUANTISED:
        return path
    copy = quantised_copy(path, qtype)
    if copy.is_file() and _ftype(copy) == qtype:
        logger.info("%s: running its %s copy %s (%s=%s)", path.name, qtype, copy.name, WEIGHTS_ENV, setting)
        return copy
    if setting == "auto":
        logger.info("%s: this CPU runs %s weights faster; `localwhisper models quantize <model> %s` "
                    "writes the copy that would be used", path.name, qtype, qtype)
    return path
