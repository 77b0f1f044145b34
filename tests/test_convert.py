"""CTranslate2 → ggml conversion of the real tiny.en and base models."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models.convert import Ct2ModelFile, convert_ct2_to_ggml, mel_filterbank, tensor_sources
from localwhisper.models.ggml_file import (
    GGML_TYPE_F16,
    GGML_TYPE_F32,
    GgmlTensorInfo,
    iter_ggml_tensors,
    read_ggml_header,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT / "vendor" / "whisper.cpp" / "models"  # whisper.cpp's weightless test models
TINY_EN_SIZE, BASE_SIZE = 77_704_715, 147_951_465  # the official files' sizes
TINY_EN_SHA256 = "25d0eb8164c94f6277b8d12c7a54e0315fc9761b294162662d6d5ad6c656eff6"
BASE_SHA256 = "3551203850c3202bb3b0e0fae98de942f1162cb813b83960f9702cd7621477ff"
MEL_END = 48 + 8 + 80 * 201 * 4  # header + mel filters


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vocabulary(path: Path) -> list[bytes]:
    data = path.read_bytes()
    (count,), offset, tokens = struct.unpack_from("<i", data, MEL_END), MEL_END + 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<i", data, offset)
        tokens.append(data[offset + 4:offset + 4 + length])
        offset += 4 + length
    return tokens


def tensor_data(path: Path, info: GgmlTensorInfo) -> np.ndarray:
    dtype = {GGML_TYPE_F32: "<f4", GGML_TYPE_F16: "<f2"}[info.ggml_type]
    with path.open("rb") as stream:
        stream.seek(info.data_offset)
        return np.frombuffer(stream.read(info.n_bytes), dtype=dtype).astype(np.float32)


def test_tiny_en_header_and_hparams(ggml_tiny_en: Path) -> None:
    assert ggml_tiny_en.read_bytes()[:4] == b"lmgg"  # 0x67676d6c little-endian
    header = read_ggml_header(ggml_tiny_en)
    assert header.hparams.as_tuple() == (51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1)
    assert not header.hparams.multilingual and header.hparams.ftype_name == "f16"
    assert ggml_tiny_en.stat().st_size == header.file_size == TINY_EN_SIZE


def test_tiny_en_tensors(ggml_tiny_en: Path) -> None:
    header = read_ggml_header(ggml_tiny_en)
    tensors = list(iter_ggml_tensors(ggml_tiny_en, header))
    assert [t.name for t in tensors] == [s.ggml_name for s in tensor_sources(header.hparams)]
    assert len(tensors) == 7 + 15 * 4 + 4 + 24 * 4
    assert tensors[-1].data_offset + tensors[-1].n_bytes == TINY_EN_SIZE
    by_name = {t.name: t for t in tensors}
    assert by_name["encoder.conv1.weight"].dims == (3, 80, 384)
    assert by_name["encoder.conv1.bias"].dims == (1, 384)
    assert by_name["decoder.token_embedding.weight"].dims == (384, 51864)
    assert by_name["encoder.blocks.0.attn.query.weight"].dims == (384, 384)
    assert "encoder.blocks.0.attn.key.bias" not in by_name
    for tensor in tensors:
        keeps_f32 = len(tensor.dims) == 1 or tensor.name.endswith(("positional_embedding", "conv1.bias",
                                                                    "conv2.bias"))
        assert tensor.ggml_type == (GGML_TYPE_F32 if keeps_f32 else GGML_TYPE_F16), tensor.name


def test_fused_attention_is_split_in_row_order(ggml_tiny_en: Path, ct2_tiny_en_dir: Path) -> None:
    tensors = {t.name: t for t in iter_ggml_tensors(ggml_tiny_en)}
    with Ct2ModelFile(ct2_tiny_en_dir / "model.bin") as ct2:
        qkv = ct2.array("decoder/layer_1/self_attention/linear_0/weight").astype(np.float32)
        kv = ct2.array("decoder/layer_1/attention/linear_1/bias").astype(np.float32)
    for index, part in enumerate(("query", "key", "value")):
        got = tensor_data(ggml_tiny_en, tensors[f"decoder.blocks.1.attn.{part}.weight"])
        np.testing.assert_array_equal(got, qkv[index * 384:(index + 1) * 384].reshape(-1))
    got = tensor_data(ggml_tiny_en, tensors["decoder.blocks.1.cross_attn.value.bias"])
    np.testing.assert_array_equal(got, kv[384:])


def test_mel_filters_match_whisper_cpp_byte_for_byte(ggml_tiny_en: Path) -> None:
    reference = (REFERENCE / "for-tests-ggml-tiny.en.bin").read_bytes()
    assert ggml_tiny_en.read_bytes()[:MEL_END] == reference[:MEL_END]
    filters = mel_filterbank(128)
    assert filters.shape == (128, 201) and filters.dtype == np.float32
    assert (filters >= 0).all() and (filters.max(axis=1) > 0).all()
    assert (np.diff(filters.argmax(axis=1)) >= 0).all()  # centres ascend


def test_vocabulary_is_raw_bytes(ggml_tiny_en: Path) -> None:
    tokens = vocabulary(ggml_tiny_en)
    assert len(tokens) == 50257
    assert tokens[0] == b"!" and tokens[262] == b" the" and tokens[50256] == b"<|endoftext|>"
    assert any(not t.isascii() and t.decode("utf-8", errors="replace") != t.decode("latin-1") for t in tokens)
    # whisper.cpp's reference file stores the same tokens, decoded lossily (U+FFFD).
    reference = vocabulary(REFERENCE / "for-tests-ggml-tiny.en.bin")
    assert [t.decode("utf-8", errors="replace").encode() for t in tokens] == reference


def test_conversion_is_byte_stable(ct2_tiny_en_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    convert_ct2_to_ggml(ct2_tiny_en_dir, first)
    convert_ct2_to_ggml(ct2_tiny_en_dir, second)
    assert sha256(first) == sha256(second) == TINY_EN_SHA256
    assert not list(tmp_path.glob("*.tmp"))


def test_progress_is_reported_per_tensor(ct2_tiny_en_dir: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    convert_ct2_to_ggml(ct2_tiny_en_dir, tmp_path / "m.bin", progress=lambda d, t, n: calls.append((d, t, n)))
    assert [c[0] for c in calls] == list(range(1, 168)) and {c[1] for c in calls} == {167}
    assert calls[-1][2] == "decoder.ln.bias"


def test_base(ggml_base: Path) -> None:
    header = read_ggml_header(ggml_base)
    assert header.hparams.as_tuple() == (51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1)
    assert header.hparams.multilingual
    assert ggml_base.stat().st_size == BASE_SIZE
    assert sum(1 for _ in iter_ggml_tensors(ggml_base, header)) == 7 + 15 * 6 + 4 + 24 * 6
    tokens = vocabulary(ggml_base)
    assert len(tokens) == 50257 and tokens[50256] == b""
    reference = (REFERENCE / "for-tests-ggml-base.bin").read_bytes()
    assert ggml_base.read_bytes()[:MEL_END] == reference[:MEL_END]
    assert [t.decode("utf-8", errors="replace").encode() for t in tokens] == vocabulary(REFERENCE /
                                                                                         "for-tests-ggml-base.bin")
    assert sha256(ggml_base) == BASE_SHA256


def test_f32_output(ct2_tiny_en_dir: Path, ggml_tiny_en: Path, tmp_path: Path) -> None:
    out = tmp_path / "f32.bin"
    header = convert_ct2_to_ggml(ct2_tiny_en_dir, out, output_type="f32")
    assert header.hparams.ftype == 0 and header.hparams.ftype_name == "f32"
    tensors = list(iter_ggml_tensors(out, header))
    assert {t.ggml_type for t in tensors} == {GGML_TYPE_F32}
    assert tensors[-1].data_offset + tensors[-1].n_bytes == out.stat().st_size
    reference = {t.name: t for t in iter_ggml_tensors(ggml_tiny_en)}
    for name in ("decoder.token_embedding.weight", "encoder.blocks.3.mlp.2.weight"):
        np.testing.assert_array_equal(tensor_data(out, next(t for t in tensors if t.name == name)),
                                      tensor_data(ggml_tiny_en, reference[name]))


# --- other CTranslate2 weight types, written as real model.bin files ------------------------

def _ct2_string(text: str) -> bytes:
    encoded = text.encode() + b"\0"
    return struct.pack("<H", len(encoded)) + encoded


def write_ct2_model(path: Path, variables: dict[str, tuple[np.ndarray, int]], aliases: dict[str, str],
                    spec: str = "WhisperSpec") -> None:
    """CTranslate2 binary version 6: (array, dtype id) per variable."""
    with path.open("wb") as out:
        out.write(struct.pack("<I", 6) + _ct2_string(spec) + struct.pack("<II", 3, len(variables)))
        for name, (array, dtype_id) in variables.items():
            out.write(_ct2_string(name) + struct.pack(f"<B{array.ndim}I", array.ndim, *array.shape))
            out.write(struct.pack("<BI", dtype_id, array.nbytes) + np.ascontiguousarray(array).tobytes())
        out.write(struct.pack("<I", len(aliases)))
        out.write(b"".join(_ct2_string(a) + _ct2_string(t) for a, t in aliases.items()))


def _requantised_copy(source_dir: Path, target_dir: Path, mode: str) -> None:
    """tiny.en re-encoded: ``int8`` (per-row scales, as CTranslate2 quantises) or ``bf16``."""
    target_dir.mkdir()
    for name in ("config.json", "vocabulary.txt"):
        (target_dir / name).write_bytes((source_dir / name).read_bytes())
    variables: dict[str, tuple[np.ndarray, int]] = {}
    with Ct2ModelFile(source_dir / "model.bin") as ct2:
        for name in ct2.variables:
            array = ct2.raw(name)
            if array.dtype.kind != "f":
                variables[name] = (array, {1: 1, 2: 2, 4: 3}[array.dtype.itemsize])
            elif mode == "int8" and name.endswith("weight") and array.ndim >= 2:
                values = array.astype(np.float32)
                amax = np.abs(values).reshape(values.shape[0], -1).max(axis=1)
                scale = (127.0 / np.where(amax == 0, 1.0, amax)).astype(np.float32)
                scaled = values * scale.reshape((-1,) + (1,) * (values.ndim - 1))
                variables[name] = (np.rint(scaled).astype(np.int8), 1)
                variables[f"{name}_scale"] = (scale, 0)
            elif mode == "int8":
                variables[name] = (array.astype(np.float32), 0)
            else:
                variables[name] = ((array.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16), 5)
        write_ct2_model(target_dir / "model.bin", variables, ct2.aliases)


@pytest.mark.parametrize(("mode", "tolerance"), [("int8", 0.5 / 127 + 2e-3), ("bf16", 2 ** -7 + 2e-3)])
def test_int8_and_bf16_weights_are_dequantised(ct2_tiny_en_dir: Path, ggml_tiny_en: Path, tmp_path: Path,
                                               mode: str, tolerance: float) -> None:
    _requantised_copy(ct2_tiny_en_dir, tmp_path / mode, mode)
    out = tmp_path / f"{mode}.bin"
    header = convert_ct2_to_ggml(tmp_path / mode, out)
    assert out.stat().st_size == TINY_EN_SIZE and header.hparams == read_ggml_header(ggml_tiny_en).hparams
    reference = {t.name: t for t in iter_ggml_tensors(ggml_tiny_en)}
    for tensor in iter_ggml_tensors(out, header):
        assert tensor.ggml_type == reference[tensor.name].ggml_type
        if "weight" in tensor.name and len(tensor.dims) >= 2:
            got, want = tensor_data(out, tensor), tensor_data(ggml_tiny_en, reference[tensor.name])
            assert np.abs(got - want).max() <= tolerance * np.abs(want).max(), tensor.name


def test_refuses_what_it_cannot_convert(ct2_tiny_en_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelAcquisitionError, match=r"no CTranslate2 model\.bin"):
        convert_ct2_to_ggml(tmp_path, tmp_path / "out.bin")
    other = tmp_path / "other"
    other.mkdir()
    (other / "vocabulary.txt").write_text("a\nb\n")
    write_ct2_model(other / "model.bin", {"x": (np.zeros(2, np.float32), 0)}, {}, spec="TransformerSpec")
    with pytest.raises(ModelAcquisitionError, match="not Whisper"):
        convert_ct2_to_ggml(other, tmp_path / "out.bin")
    short_vocab = tmp_path / "short"
    short_vocab.mkdir()
    (short_vocab / "model.bin").symlink_to(ct2_tiny_en_dir / "model.bin")
    (short_vocab / "vocabulary.txt").write_text("a\nb\n")
    with pytest.raises(ModelAcquisitionError, match="vocabulary has 2 tokens"):
        convert_ct2_to_ggml(short_vocab, tmp_path / "out.bin")
    assert not list(tmp_path.glob("out.bin*"))


@pytest.mark.native
def test_whisper_cpp_loads_the_converted_models(ggml_tiny_en: Path, ggml_base: Path) -> None:
    """whisper.cpp checks every tensor's name, type and shape when it loads a file."""
    from whisper_native import WhisperContext

    for path, multilingual, token_262 in ((ggml_tiny_en, False, b" the"), (ggml_base, True, b" s")):
        hparams = read_ggml_header(path).hparams
        with WhisperContext(path) as context:
            dims = context.dims
            assert (dims.n_vocab, dims.n_audio_state, dims.n_text_layer, dims.n_mels, dims.ftype) == (
                hparams.n_vocab, hparams.n_audio_state, hparams.n_text_layer, hparams.n_mels, 1)
            assert dims.multilingual is multilingual
            assert context.token_bytes(262) == token_262
