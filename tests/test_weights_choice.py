"""Per-machine weights: a model configured with f16 runs its q8_0 copy where AMX tiles work.

The rule is tested both ways on any CPU by stating the probe's verdict (``amx_tiles_usable``);
the registry test loads the real copy written by the real quantiser and transcribes with it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from localwhisper.models import hub, weights
from localwhisper.models.ggml_file import read_ggml_header
from localwhisper.models.registry import EngineSettings, ModelRegistry

pytestmark = pytest.mark.native


@pytest.fixture
def with_copy(tiny_en_models_dir: Path) -> Path:
    hub.quantize("tiny.en", "q8_0", tiny_en_models_dir)
    return tiny_en_models_dir


def test_auto_takes_the_copy_only_where_amx_runs(with_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f16 = with_copy / "ggml-tiny.en.bin"
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: True)
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto") == with_copy / "ggml-tiny.en-q8_0.bin"
    assert weights.choose_weight_file(f16, on_cpu=False, setting="auto") == f16  # a GPU: as configured
    assert weights.choose_weight_file(f16, on_cpu=True, setting="configured") == f16
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: False)
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto") == f16
    assert weights.choose_weight_file(f16, on_cpu=True, setting="q8_0") == with_copy / "ggml-tiny.en-q8_0.bin"
    assert weights.choose_weight_file(f16, on_cpu=True, setting="q5_0") == f16  # no such copy


def test_a_damaged_or_mislabelled_copy_is_not_used(tiny_en_models_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    f16 = tiny_en_models_dir / "ggml-tiny.en.bin"
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: True)
    copy = tiny_en_models_dir / "ggml-tiny.en-q8_0.bin"
    copy.write_bytes(b"not a model")
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto") == f16
    copy.write_bytes(f16.read_bytes())  # an f16 file under the q8_0 name
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto") == f16


def test_the_probe_verdict_names_the_buffer_types() -> None:
    import whisper_native

    choice = whisper_native.cpu_variant_choice()
    assert choice is not None and "CPU" in choice["buffers"]
    assert weights.amx_tiles_usable() == ("AMX" in choice["buffers"])


def test_registry_loads_and_transcribes_with_the_copy(with_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from conftest import JFK_WAV, normalise_text

    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: True)
    registry = ModelRegistry(with_copy, EngineSettings(n_states=1, n_threads=2, device="cpu", weights="auto"))
    with caplog.at_level(logging.INFO, logger="localwhisper.models.weights"):
        model = registry.get("tiny.en")
    try:
        assert model.model_path.name == "ggml-tiny.en-q8_0.bin"
        assert read_ggml_header(model.model_path).hparams.ftype_name == "q8_0"
        assert "running its q8_0 copy" in caplog.text
        text = normalise_text(model.transcribe(JFK_WAV).text)
        assert "ask not what your country can do for you" in text
    finally:
        registry.close()
