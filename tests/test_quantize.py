"""Quantisation with whisper.cpp's own quantiser (built by our CMake) of the real tiny.en."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models import hub
from localwhisper.models.config import load_model_configs
from localwhisper.models.ggml_file import GGML_TYPE_F16, GGML_TYPE_F32, iter_ggml_tensors, read_ggml_header

pytestmark = pytest.mark.native

# qtype → (ggml_type of the quantised 2-D weights, exact file size for tiny.en)
EXPECTED = {"q5_0": (6, 29_889_227), "q8_0": (8, 43_550_795)}
NOT_QUANTISED = ("encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
                 "decoder.positional_embedding")


@pytest.mark.parametrize("qtype", sorted(EXPECTED))
def test_quantise_tiny_en(tiny_en_models_dir: Path, qtype: str) -> None:
    config = hub.quantize("tiny.en", qtype, tiny_en_models_dir)
    assert (config.name, config.model_file) == (f"tiny.en-{qtype}", f"ggml-tiny.en-{qtype}.bin")
    assert config.language == "en" and config.config_path == tiny_en_models_dir / f"tiny.en-{qtype}.yaml"

    path = load_model_configs(tiny_en_models_dir).get_config(config.name).resolve_path(tiny_en_models_dir)
    header = read_ggml_header(path)
    source = read_ggml_header(tiny_en_models_dir / "ggml-tiny.en.bin")
    assert header.hparams.ftype_name == qtype and header.hparams.ftype // 1000 == 2  # GGML_QNT_VERSION
    assert header.hparams.as_tuple()[:10] == source.hparams.as_tuple()[:10]
    quantised_type, size = EXPECTED[qtype]
    assert path.stat().st_size == size
    tensors = list(iter_ggml_tensors(path, header))
    assert len(tensors) == 167 and tensors[-1].data_offset + tensors[-1].n_bytes == size
    for tensor in tensors:
        if len(tensor.dims) == 2 and tensor.name not in NOT_QUANTISED:
            assert tensor.ggml_type == quantised_type, tensor.name
        else:  # 1-D and f32 tensors stay f32, conv weights stay f16
            assert tensor.ggml_type in (GGML_TYPE_F32, GGML_TYPE_F16), tensor.name
    assert not list(tiny_en_models_dir.glob("*.tmp"))

    info = hub.info(config.name, tiny_en_models_dir)
    assert (info.quantisation, info.language) == (qtype, "en")

    # The quantised model transcribes jfk.wav right through the CLI, in a child process: a
    # native crash in a quantised kernel (SIGILL) fails this test, not the whole test run.
    from conftest import JFK_TEXT, JFK_WAV, normalise_text

    done = subprocess.run(
        [sys.executable, "-m", "localwhisper", "transcribe", str(JFK_WAV), "-m", config.name,
         "--models-dir", str(tiny_en_models_dir), "--threads", "2", "-l", "en"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode} (SIGILL is -4): {done.stderr[-800:]}"
    assert normalise_text(done.stdout) == normalise_text(JFK_TEXT)


def test_quantised_model_serves_over_http(tiny_en_models_dir: Path, tmp_path: Path) -> None:
    """q8_0 through a real server process and the official client: the quantised path end to end."""
    from conftest import JFK_TEXT, JFK_WAV, normalise_text, start_server, stop_server
    from openai import OpenAI

    hub.quantize("tiny.en", "q8_0", tiny_en_models_dir)
    server = start_server(tmp_path / "server.log", "--models-dir", str(tiny_en_models_dir))
    try:
        with (OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120) as client,
              JFK_WAV.open("rb") as audio):
            result = client.audio.transcriptions.create(model="tiny.en-q8_0", file=audio)
        assert normalise_text(result.text) == normalise_text(JFK_TEXT)
        assert server.process.poll() is None, server.log()[-2000:]
    finally:
        stop_server(server)


def test_refusals(tiny_en_models_dir: Path) -> None:
    with pytest.raises(ModelAcquisitionError, match="unknown quantisation"):
        hub.quantize("tiny.en", "q3_0", tiny_en_models_dir)
    with pytest.raises(ModelAcquisitionError, match="multiples of 256"):
        hub.quantize("tiny.en", "q4_k", tiny_en_models_dir)  # tiny's rows are 384 wide
    hub.quantize("tiny.en", "q8_0", tiny_en_models_dir)
    with pytest.raises(ModelAcquisitionError, match="already quantised"):
        hub.quantize("tiny.en-q8_0", "q5_0", tiny_en_models_dir)
    assert sorted(p.name for p in tiny_en_models_dir.iterdir()) == [
        "ggml-tiny.en-q8_0.bin", "ggml-tiny.en.bin", "tiny.en-q8_0.yaml", "tiny.en.yaml"]
