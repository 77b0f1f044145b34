"""bf16 weights: our copy writer, the per-machine choice, and the bf16 flash attention (patch 0008).

The copy is checked record by record against its f16 source and transcribed by the real library
in a child process; the kernel's test runs where the loaded CPU variant has AVX512-BF16.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from localwhisper.models import hub, weights
from localwhisper.models.ggml_file import GGML_TYPE_F16, iter_ggml_tensors, read_ggml_header
from localwhisper.models.hub.bf16 import GGML_TYPE_BF16, f16_to_bf16, write_bf16_copy

pytestmark = pytest.mark.native

# Transcribes argv[2] with model argv[1] on 2 threads; prints the text as JSON on stdout, the
# native debug log on stderr.
TRANSCRIBE = """
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(message)s")
from localwhisper.audio.decode import decode_audio
from whisper_native import ContextOptions, FullParams, WhisperContext, read_segments, run_full
with WhisperContext(sys.argv[1], ContextOptions(use_gpu=False)) as ctx, ctx.new_state() as state:
    run_full(ctx, state, FullParams().set(n_threads=2, language="en"), decode_audio(sys.argv[2]))
    print(json.dumps("".join(segment.text for segment in read_segments(ctx, state))))
"""


def transcribe_in_child(model: Path, audio: Path, **env: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", TRANSCRIBE, str(model), str(audio)], capture_output=True,
                          text=True, timeout=180, env={**os.environ, **env})
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-800:]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture(scope="module")
def tiny_en_bf16(ggml_tiny_en: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bf16") / "ggml-tiny.en-bf16.bin"
    write_bf16_copy(ggml_tiny_en, target)
    return target


def test_rounding_is_to_nearest_even() -> None:
    values = np.array([1.0, 1.00390625, 1.01171875, -2.5, 65504.0, np.inf, np.nan], dtype=np.float16)
    bits = f16_to_bf16(values)
    assert [hex(b) for b in bits[:6]] == ["0x3f80", "0x3f80", "0x3f82", "0xc020", "0x4780", "0x7f80"]
    assert (bits[6] & 0x7F80) == 0x7F80 and (bits[6] & 0x7F)  # still a NaN


def test_copy_converts_exactly_the_matrices(ggml_tiny_en: Path, tiny_en_bf16: Path) -> None:
    assert read_ggml_header(tiny_en_bf16).hparams.ftype_name == "bf16"
    source, copy = list(iter_ggml_tensors(ggml_tiny_en)), list(iter_ggml_tensors(tiny_en_bf16))
    assert [t.name for t in source] == [t.name for t in copy]
    with ggml_tiny_en.open("rb") as src, tiny_en_bf16.open("rb") as dst:
        for old, new in zip(source, copy, strict=True):
            src.seek(old.data_offset)
            dst.seek(new.data_offset)
            old_bytes, new_bytes = src.read(old.n_bytes), dst.read(new.n_bytes)
            if len(old.dims) == 2 and old.ggml_type == GGML_TYPE_F16:
                assert new.ggml_type == GGML_TYPE_BF16 and new.dims == old.dims
                wide = np.frombuffer(old_bytes, np.float16).astype(np.float32)
                narrow = (np.frombuffer(new_bytes, np.uint16).astype(np.uint32) << 16).view(np.float32)
                np.testing.assert_allclose(narrow, wide, rtol=2 ** -8, atol=1e-30)
            else:  # biases, norms, positional embeddings, 3-D convolutions: untouched
                assert (new.ggml_type, new_bytes) == (old.ggml_type, old_bytes), old.name
    hparams = read_ggml_header(ggml_tiny_en).hparams  # 6 matrices per encoder layer, 10 per decoder
    matrices = 6 * hparams.n_audio_layer + 10 * hparams.n_text_layer + 1  # + the token embedding
    assert sum(t.ggml_type == GGML_TYPE_BF16 for t in copy) == matrices


def test_copy_transcribes_like_the_source(ggml_tiny_en: Path, tiny_en_bf16: Path) -> None:
    from conftest import JFK_TEXT, JFK_WAV, normalise_text

    text, _ = transcribe_in_child(tiny_en_bf16, JFK_WAV)
    assert normalise_text(text) == normalise_text(JFK_TEXT)


def test_quantize_bf16_writes_a_config(tiny_en_models_dir: Path) -> None:
    config = hub.quantize("tiny.en", "bf16", tiny_en_models_dir)
    assert config.name == "tiny.en-bf16"
    assert read_ggml_header(config.resolve_path(tiny_en_models_dir)).hparams.ftype_name == "bf16"
    with pytest.raises(Exception, match="already quantised"):
        hub.quantize("tiny.en-bf16", "bf16", tiny_en_models_dir)


def test_auto_takes_bf16_where_the_variant_has_it(tiny_en_models_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    f16 = tiny_en_models_dir / "ggml-tiny.en.bin"
    write_bf16_copy(f16, weights.quantised_copy(f16, "bf16"))
    hub.quantize("tiny.en", "q8_0", tiny_en_models_dir)
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: False)
    monkeypatch.setattr(weights, "bf16_dot_usable", lambda: True)
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto").name == "ggml-tiny.en-bf16.bin"
    assert weights.choose_weight_file(f16, on_cpu=False, setting="auto") == f16
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: True)  # AMX: q8_0 wins (measured)
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto").name == "ggml-tiny.en-q8_0.bin"
    monkeypatch.setattr(weights, "amx_tiles_usable", lambda: False)
    monkeypatch.setattr(weights, "bf16_dot_usable", lambda: False)
    assert weights.choose_weight_file(f16, on_cpu=True, setting="auto") == f16
    assert weights.choose_weight_file(f16, on_cpu=True, setting="bf16").name == "ggml-tiny.en-bf16.bin"


def test_bf16_flash_attention_is_used_and_agrees(tiny_en_bf16: Path) -> None:
    """Patch 0008: the kernel runs where the variant has AVX512-BF16 and gives the same text."""
    from conftest import JFK_WAV

    if not weights.bf16_dot_usable():
        pytest.skip("the loaded CPU variant has no AVX512-BF16")
    text_on, log_on = transcribe_in_child(tiny_en_bf16, JFK_WAV)
    text_off, log_off = transcribe_in_child(tiny_en_bf16, JFK_WAV, GGML_FA_BF16="0")
    assert "ggml_fa_bf16: flash attention with AVX512-BF16 dot products: on" in log_on
    assert "ggml_fa_bf16: flash attention with AVX512-BF16 dot products: off" in log_off
    assert text_on == text_off
