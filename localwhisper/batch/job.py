"""What a batch does to every file: which model, which options, which output files.

Both are frozen and picklable, so the embedded runner and every Ray actor build the
same :class:`Model` and write the same files from them. :meth:`BatchJob.options_key`
names everything that changes a transcript; a file done before under the same key
(and unchanged since) is skipped on a rerun.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localwhisper.formatters import FORMATS, output_name

if TYPE_CHECKING:
    from localwhisper.transcribe.engine import Model


def parse_formats(text: str) -> tuple[str, ...]:
    """``"srt,json"`` → ``("srt", "json")``; ``"all"`` → every format. Raises ValueError."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return FORMATS
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise ValueError(f"unknown format(s) {', '.join(unknown) or repr(text)}; "
                         f"use one or more of {', '.join(FORMATS)} (comma separated) or all")
    return tuple(dict.fromkeys(names))  # order kept, repeats dropped


@dataclass(frozen=True)
class ModelSpec:
    """A model to load: a name or alias from ``models_dir``, or a path to a ggml ``.bin``."""

    model: str
    models_dir: str | None = None
    n_states: int | None = None
    n_threads: int | None = None

    def _path(self) -> Path | None:
        candidate = Path(self.model)
        return candidate.resolve() if candidate.suffix == ".bin" and candidate.is_file() else None

    def absolute(self) -> ModelSpec:
        """The same spec with absolute paths, for workers whose working folder differs."""
        from localwhisper.models.config import default_models_dir

        path = self._path()
        models_dir = Path(self.models_dir) if self.models_dir else default_models_dir()
        return ModelSpec(str(path) if path else self.model, str(models_dir.resolve()), self.n_states,
                         self.n_threads)

    def identity(self) -> str:
        """The resolved model (config name and weights file): part of the options key.

        Raises :class:`~localwhisper.errors.ModelNotFound` for an unknown name, so a batch
        fails before it starts rather than on every file.
        """
        path = self._path()
        if path is not None:
            return f"file:{path.name}:{path.stat().st_size}"
        from localwhisper.errors import ModelNotFound
        from localwhisper.models.registry import ModelRegistry

        registry = ModelRegistry(self.models_dir)
        config = registry.resolve(self.model)
        if not registry.is_present(config):
            raise ModelNotFound(config.name, hint=(
                f"Its weights ({config.model_file}) are not downloaded: run "
                f"`localwhisper models pull {config.name}`."))
        return f"{config.name}:{config.model_file}"

    def load(self) -> Model:
        from localwhisper.models.registry import EngineSettings, ModelRegistry
        from localwhisper.transcribe.engine import Model

        path = self._path()
        if path is not None:
            return Model(path, n_states=self.n_states, n_threads=self.n_threads)
        settings = EngineSettings(n_states=self.n_states, n_threads=self.n_threads)
        return ModelRegistry(self.models_dir, settings).get(self.model)


@dataclass(frozen=True)
class BatchJob:
    """The formats to write and the transcription options (``TranscribeOptions`` overrides)."""

    formats: tuple[str, ...] = ("text",)
    every_format: bool = False  # -f all: verbose_json is NAME.verbose.json beside NAME.json
    options: tuple[tuple[str, Any], ...] = ()
    max_line_width: int | None = None
    max_line_count: int | None = None

    @classmethod
    def create(cls, formats: tuple[str, ...], overrides: dict[str, Any], *,
               max_line_width: int | None = None, max_line_count: int | None = None) -> BatchJob:
        return cls(formats=formats, every_format=set(formats) == set(FORMATS),
                   options=tuple(sorted(overrides.items())), max_line_width=max_line_width,
                   max_line_count=max_line_count)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.options)

    def output_names(self, stem: str) -> tuple[str, ...]:
        """The files one input writes, relative to the output root (``a/b/talk`` → ``a/b/talk.srt``)."""
        return tuple(output_name(stem, fmt, every_format=self.every_format) for fmt in self.formats)

    def format_options(self, fmt: str) -> dict[str, Any]:
        if fmt in ("srt", "vtt"):
            return {"max_line_width": self.max_line_width, "max_line_count": self.max_line_count}
        if fmt == "verbose_json":
            return {"include_words": bool(self.overrides.get("word_timestamps"))}
        return {}

    def options_key(self, model_identity: str) -> str:
        """A short digest of the model and of every option that changes a transcript or its files."""
        shape = {"model": model_identity, "options": [[k, repr(v)] for k, v in self.options],
                 "wrap": [self.max_line_width, self.max_line_count]}
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
