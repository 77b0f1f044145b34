"""Models made from local files: ``import_model`` (a CTranslate2 dir or a ggml file) and the
checks and file handling that every acquisition path shares."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from localwhisper.errors import LocalWhisperError, ModelAcquisitionError, ModelConfigError
from localwhisper.models.config import (
    ModelCatalog,
    ModelConfig,
    default_models_dir,
    load_model_configs,
    write_model_config,
)
from localwhisper.models.convert import convert_ct2_to_ggml
from localwhisper.models.ggml_file import GgmlHeader, iter_ggml_tensors, read_ggml_header
from localwhisper.models.hub.download import ProgressBar

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def resolve_models_dir(models_dir: Path | None) -> Path:
    return Path(models_dir) if models_dir is not None else default_models_dir()


def check_new_model_name(name: str, catalog: ModelCatalog) -> None:
    if not _SAFE_NAME.match(name):
        raise ModelConfigError(f"model name {name!r} must be letters, digits and ._+- (max 100)")
    if name in catalog or (catalog.models_dir / f"{name}.yaml").exists():
        raise ModelConfigError(f"a model named {name!r} already exists in {catalog.models_dir}")


def copy_atomic(source: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def validate_ggml_file(path: Path) -> GgmlHeader:
    """Header and every tensor record of a whisper ggml file; ModelAcquisitionError if invalid."""
    try:
        header = read_ggml_header(path)
        n_tensors = sum(1 for _ in iter_ggml_tensors(path, header))
    except (LocalWhisperError, OSError) as exc:
        raise ModelAcquisitionError(f"{path} is not a usable whisper ggml model: {exc}") from exc
    if n_tensors == 0:
        raise ModelAcquisitionError(f"{path} holds no tensors (a weightless test model?)")
    return header


def import_model(path: Path, name: str, models_dir: Path | None = None, *, description: str | None = None,
                 progress: bool = True) -> ModelConfig:
    """A CTranslate2 directory (converted) or a ggml ``.bin`` (validated, copied) → model ``name``."""
    path, models_dir = Path(path), resolve_models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    check_new_model_name(name, load_model_configs(models_dir))
    target = models_dir / f"ggml-{name}.bin"
    if target.exists():
        raise ModelAcquisitionError(f"{target} already exists")
    if path.is_dir():
        bar = ProgressBar(f"converting {path.name}", enabled=progress)
        try:
            convert_ct2_to_ggml(path, target, progress=bar)
        finally:
            bar.close()
    elif path.is_file():
        validate_ggml_file(path)
        copy_atomic(path, target)
    else:
        raise ModelAcquisitionError(f"{path} does not exist")
    header = validate_ggml_file(target)
    config = ModelConfig(name, target.name, language=None if header.hparams.multilingual else "en",
                         multilingual=header.hparams.multilingual,
                         description=description or f"imported from {path.name}",
                         config_path=models_dir / f"{name}.yaml")
    write_model_config(config, models_dir / f"{name}.yaml")
    return config
