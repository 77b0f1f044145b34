"""Model names and aliases → loaded :class:`Model` objects, lazily and thread-safely.

The catalog of ``models/*.yaml`` is re-read when the directory changes, so a
model added with ``localwhisper models pull`` appears without a restart. An
unknown name is :class:`ModelNotFound` (HTTP 404 ``model_not_found``), never a
fallback to another model.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from localwhisper.audio import AudioLimits
from localwhisper.device import context_options_for
from localwhisper.errors import ModelNotFound
from localwhisper.models.config import ModelCatalog, ModelConfig, default_models_dir, load_model_configs
from localwhisper.models.weights import choose_weight_file
from localwhisper.transcribe.engine import Model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    n_states: int | None = None
    n_threads: int | None = None
    max_queue: int = 64
    use_gpu: bool = True
    flash_attn: bool = True
    audio_limits: AudioLimits = field(default_factory=AudioLimits)
    device: str = "auto"  # auto | cpu | cuda | cuda:N (whisper_native.devices)
    weights: str | None = None  # auto, configured or a quant type; None: $LOCALWHISPER_WEIGHTS


class ModelRegistry:
    def __init__(self, models_dir: str | Path | None = None, settings: EngineSettings | None = None) -> None:
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.settings = settings or EngineSettings()
        self._lock = threading.RLock()
        self._load_locks: dict[str, threading.Lock] = {}
        self._models: dict[str, Model] = {}
        self._last_used: dict[str, float] = {}
        self._catalog: ModelCatalog | None = None
        self._catalog_stamp: tuple[float, int] | None = None

    # --- catalog ----------------------------------------------------------------------
    def _stamp(self) -> tuple[float, int]:
        try:
            entries = [p.stat().st_mtime for p in self.models_dir.iterdir() if p.suffix in (".yaml", ".yml")]
            return (max([self.models_dir.stat().st_mtime, *entries]), len(entries))
        except OSError:
            return (0.0, 0)

    def catalog(self) -> ModelCatalog:
        with self._lock:
            stamp = self._stamp()
            if self._catalog is None or stamp != self._catalog_stamp:
                self._catalog = load_model_configs(self.models_dir)
                self._catalog_stamp = stamp
            return self._catalog

    def configs(self) -> tuple[ModelConfig, ...]:
        return self.catalog().configs

    def resolve(self, name: str) -> ModelConfig:
        return self.catalog().get_config(name)

    def is_present(self, config: ModelConfig) -> bool:
        try:
            return config.resolve_path(self.models_dir).is_file()
        except Exception:
            return False

    # --- loading ------------------------------------------------------------------------
    def get(self, name: str) -> Model:
        """The loaded model for ``name`` or an alias, loading it on first use."""
        config = self.resolve(name)
        with self._lock:
            model = self._models.get(config.name)
            if model is not None:
                self._last_used[config.name] = time.monotonic()
                return model
            load_lock = self._load_locks.setdefault(config.name, threading.Lock())
        with load_lock:  # one loader per model; others wait for it, not for every model
            with self._lock:
                model = self._models.get(config.name)
            if model is None:
                model = self._load(config)
                with self._lock:
                    self._models[config.name] = model
            with self._lock:
                self._last_used[config.name] = time.monotonic()
            return model

    def _load(self, config: ModelConfig) -> Model:
        path = config.resolve_path(self.models_dir)
        if not path.is_file():
            raise ModelNotFound(config.name, hint=(
                f"Its weights ({config.model_file}) are not downloaded: run "
                f"`localwhisper models pull {config.name}`."))
        settings = self.settings
        context_options = context_options_for(settings.device if settings.use_gpu else "cpu",
                                              flash_attn=settings.flash_attn)
        path = choose_weight_file(path, on_cpu=not context_options.use_gpu, setting=settings.weights)
        model = Model(
            path, name=config.name, n_states=settings.n_states, n_threads=settings.n_threads,
            max_queue=settings.max_queue, vad_model_path=config.resolve_vad_model(self.models_dir),
            default_options=config.transcribe_options(), context_options=context_options,
            audio_limits=settings.audio_limits)
        logger.info("loaded model %s (%s, %s) in %.2f s", config.name, path.name,
                    model.context.dims.type_name, model.load_seconds)
        return model

    def loaded(self) -> dict[str, Model]:
        with self._lock:
            return dict(self._models)

    def unload(self, name: str) -> bool:
        config = self.resolve(name)
        with self._lock:
            model = self._models.pop(config.name, None)
            self._last_used.pop(config.name, None)
        if model is None:
            return False
        model.close()  # in-flight transcriptions keep their state until they finish
        logger.info("unloaded model %s", config.name)
        return True

    def unload_idle(self, idle_seconds: float) -> list[str]:
        now = time.monotonic()
        with self._lock:
            idle = [name for name, used in self._last_used.items()
                    if now - used >= idle_seconds and self._models[name].stats().in_flight == 0]
        return [name for name in idle if self.unload(name)]

    def close(self) -> None:
        with self._lock:
            models, self._models = list(self._models.values()), {}
            self._last_used.clear()
        for model in models:
            model.close()
