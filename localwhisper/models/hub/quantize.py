"""``quantize``: whisper.cpp's quantiser (or our bf16 writer) on a model of the models dir, plus a config."""

from __future__ import annotations

import dataclasses
import glob
import os
import subprocess
from pathlib import Path

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models.config import ModelConfig, load_model_configs, write_model_config
from localwhisper.models.ggml_file import iter_ggml_tensors
from localwhisper.models.hub.bf16 import write_bf16_copy
from localwhisper.models.hub.importing import check_new_model_name, resolve_models_dir, validate_ggml_file
from localwhisper.models.weights import quantised_copy

_REPO_ROOT = Path(__file__).resolve().parents[3]  # a source checkout: build/
QUANT_TYPES = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "bf16")
_K_QUANT_ROW = 256
_QUANT_SKIPPED = ("encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
                  "decoder.positional_embedding")  # whisper-quantize's own skip list


def _quantize_tool() -> Path:
    try:
        from whisper_native._loader import library_dir

        tool = library_dir() / "whisper-quantize"
        if tool.is_file():
            return tool
    except (ImportError, OSError):
        pass
    built = sorted(glob.glob(str(_REPO_ROOT / "build" / "*" / "bin" / "whisper-quantize")))
    if built:
        return Path(built[-1])
    raise ModelAcquisitionError("whisper-quantize is not built; run `make build` (or `pip install .`)")


def quantize(name: str, qtype: str, models_dir: Path | None = None) -> ModelConfig:
    """Quantise model ``name`` with whisper.cpp's quantiser into ``<file>-<qtype>.bin`` + a config."""
    qtype, models_dir = qtype.lower(), resolve_models_dir(models_dir)
    if qtype not in QUANT_TYPES:
        raise ModelAcquisitionError(f"unknown quantisation {qtype!r}; choose one of {', '.join(QUANT_TYPES)}")
    catalog = load_model_configs(models_dir)
    config = catalog.get_config(name)
    source = config.resolve_path(models_dir)
    if not source.is_file():
        raise ModelAcquisitionError(f"{config.name}: {source.name} is not present; pull it first")
    header = validate_ggml_file(source)
    if header.hparams.ftype_name not in ("f16", "f32"):
        raise ModelAcquisitionError(f"{config.name} is already quantised ({header.hparams.ftype_name})")
    if qtype.endswith("_k"):
        odd = [t.name for t in iter_ggml_tensors(source, header) if len(t.dims) == 2
               and t.name not in _QUANT_SKIPPED and t.dims[0] % _K_QUANT_ROW]
        if odd:
            raise ModelAcquisitionError(f"{qtype} needs rows that are multiples of {_K_QUANT_ROW}; "
                                        f"{config.name} has {len(odd)} tensors that are not (e.g. {odd[0]})")
    new_name = f"{config.name}-{qtype}"
    check_new_model_name(new_name, catalog)
    target = quantised_copy(source, qtype)
    quantize_file(source, target, qtype)
    new_config = dataclasses.replace(
        config, name=new_name, model_file=target.relative_to(models_dir.resolve()).as_posix(), aliases=(),
        description=f"{config.name} quantised to {qtype}", sources=(), extra_keys={},
        config_path=models_dir / f"{new_name}.yaml")
    write_model_config(new_config, models_dir / f"{new_name}.yaml")
    return new_config


def quantize_file(source: Path, target: Path, qtype: str) -> None:
    """Write ``target``, the ``qtype`` quantisation of the ggml file ``source``, atomically."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        if qtype == "bf16":  # a change of float format, not a quantisation: whisper-quantize has none
            write_bf16_copy(source, tmp)
        else:
            _run_quantize_tool(source, tmp, qtype)
        if (got := validate_ggml_file(tmp).hparams.ftype_name) != qtype:
            raise ModelAcquisitionError(f"the {qtype} copy came out as a {got} file")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _run_quantize_tool(source: Path, target: Path, qtype: str) -> None:
    result = subprocess.run([str(_quantize_tool()), str(source), str(target), qtype],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not target.is_file():
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        raise ModelAcquisitionError(f"whisper-quantize failed (exit {result.returncode}): {tail}")
