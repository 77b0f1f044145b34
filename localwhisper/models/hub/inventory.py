"""What the models dir holds: ``list_models``, ``info`` (header, size, problems) and ``remove``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localwhisper.errors import LocalWhisperError, ModelConfigError, ModelNotFound
from localwhisper.models.config import ModelConfig, load_model_configs, read_model_config_file
from localwhisper.models.ggml_file import GgmlHeader, read_ggml_header
from localwhisper.models.hub.importing import resolve_models_dir


@dataclass(frozen=True)
class ModelInfo:
    config: ModelConfig
    path: Path
    size: int | None  # bytes on disk; None when absent
    header: GgmlHeader | None
    problem: str | None = None  # why the file is unusable, when it is

    @property
    def present(self) -> bool:
        return self.size is not None

    @property
    def language(self) -> str:
        if self.header is not None:
            return "multilingual" if self.header.hparams.multilingual else "en"
        if self.config.multilingual is not None:
            return "multilingual" if self.config.multilingual else "en"
        return self.config.language or "?"

    @property
    def quantisation(self) -> str:
        return self.header.hparams.ftype_name if self.header is not None else "?"


def describe(config: ModelConfig, models_dir: Path) -> ModelInfo:
    try:
        path = config.resolve_path(models_dir)
    except ModelConfigError as exc:
        return ModelInfo(config, models_dir / config.model_file, None, None, exc.message)
    if not path.is_file():
        return ModelInfo(config, path, None, None)
    try:
        return ModelInfo(config, path, path.stat().st_size, read_ggml_header(path))
    except LocalWhisperError as exc:
        return ModelInfo(config, path, path.stat().st_size, None, exc.message)


def list_models(models_dir: Path | None = None) -> list[ModelInfo]:
    models_dir = resolve_models_dir(models_dir)
    return [describe(config, models_dir) for config in load_model_configs(models_dir).configs]


def info(name: str, models_dir: Path | None = None) -> ModelInfo:
    models_dir = resolve_models_dir(models_dir)
    return describe(load_model_configs(models_dir).get_config(name), models_dir)


def remove(name: str, models_dir: Path | None = None, *, delete_config: bool = False) -> list[Path]:
    """Delete a model's weights (and, when asked, its config file); returns what was removed."""
    models_dir = resolve_models_dir(models_dir)
    config = load_model_configs(models_dir).get_config(name)
    removed = []
    path = config.resolve_path(models_dir)
    if path.is_file():
        path.unlink()
        removed.append(path)
    if delete_config and config.config_path is not None:
        if len(read_model_config_file(config.config_path)) != 1:
            raise ModelConfigError(f"{config.config_path} defines several models; edit it by hand")
        config.config_path.unlink()
        removed.append(config.config_path)
    if not removed:
        raise ModelNotFound(name, hint="Its weights are not present.")
    return removed
