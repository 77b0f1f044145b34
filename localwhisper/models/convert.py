"""CTranslate2 Whisper model directory → whisper.cpp ggml file.

Input: a directory with ``model.bin`` (CTranslate2 binary format, version 4–6), plus
``vocabulary.json``, ``vocabulary.txt`` or ``tokenizer.json``. Weights may be float32,
float16, bfloat16, or int8/int16 with a ``<name>_scale`` variable (dequantised here).

Output: the ggml layout whisper.cpp loads (see :mod:`localwhisper.models.ggml_file`): magic,
11 hparams, the Slaney-normalised mel filterbank, the byte-level BPE vocabulary as raw
bytes (ids 0..50256; whisper.cpp synthesises the special tokens), then the tensors in
the order of OpenAI's ``state_dict``. ``f16`` output keeps 1-D tensors, conv biases and
positional embeddings in float32 (as the official files do); ``f32`` writes all float32.
Tensors are streamed one at a time and the output is byte-stable.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from localwhisper.errors import ModelAcquisitionError, ModelLoadError
from localwhisper.models.ggml_file import (
    GGML_MAGIC,
    GGML_TYPE_F16,
    GGML_TYPE_F32,
    GgmlHeader,
    WhisperHparams,
    read_exact,
    read_ggml_header,
)

SAMPLE_RATE = 16_000
N_FFT = 400
BPE_BASE_VOCAB = 50_257  # ids 0..50256 are written; whisper.cpp adds the special tokens

ProgressCallback = Callable[[int, int, str], None]  # (done, total, label)
OutputType = Literal["f16", "f32"]

# --- CTranslate2 model.bin: reading --------------------------------------------------------

_CT2_DTYPES: dict[int, np.dtype] = {0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"),
                                    3: np.dtype("<i4"), 4: np.dtype("<f2"), 5: np.dtype("<u2")}
_CT2_BF16 = 5


@dataclass(frozen=True)
class Ct2Variable:
    name: str
    shape: tuple[int, ...]
    dtype_id: int
    offset: int
    n_bytes: int


class Ct2ModelFile:
    """Index of a CTranslate2 ``model.bin``; variables are read on demand, one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.variables: dict[str, Ct2Variable] = {}
        self.aliases: dict[str, str] = {}
        self._stream = self.path.open("rb")
        try:
            self._read_index()
        except BaseException as exc:
            self._stream.close()
            if isinstance(exc, (struct.error, UnicodeDecodeError, ModelLoadError)):
                raise ModelAcquisitionError(f"{self.path}: corrupt CTranslate2 model.bin ({exc})") from exc
            raise

    def _unpack(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, read_exact(self._stream, size, self.path))

    def _string(self) -> str:
        (length,) = self._unpack("H")
        return read_exact(self._stream, length, self.path).rstrip(b"\0").decode("utf-8")

    def _read_index(self) -> None:
        (version,) = self._unpack("I")
        if not 4 <= version <= 6:
            raise ModelAcquisitionError(f"{self.path}: CTranslate2 binary version {version} is not supported")
        self.spec_name = self._string()
        (self.spec_revision,) = self._unpack("I")
        if self.spec_name != "WhisperSpec":
            raise ModelAcquisitionError(f"{self.path}: a {self.spec_name or 'unnamed'} model, not Whisper")
        (n_variables,) = self._unpack("I")
        for _ in range(n_variables):
            name = self._string()
            (rank,) = self._unpack("B")
            shape = self._unpack(f"{rank}I") if rank else ()
            dtype_id, n_bytes = self._unpack("BI")
            if dtype_id not in _CT2_DTYPES:
                raise ModelAcquisitionError(f"{self.path}: variable {name} has unknown dtype {dtype_id}")
            offset = self._stream.tell()
            self.variables[name] = Ct2Variable(name, tuple(shape), dtype_id, offset, n_bytes)
            self._stream.seek(n_bytes, os.SEEK_CUR)
        (n_aliases,) = self._unpack("I")
        for _ in range(n_aliases):
            alias = self._string()
            self.aliases[alias] = self._string()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Ct2ModelFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _lookup(self, name: str) -> Ct2Variable:
        variable = self.variables.get(self.aliases.get(name, name))
        if variable is None:
            raise ModelAcquisitionError(f"{self.path}: variable {name} is missing")
        return variable

    def raw(self, name: str) -> np.ndarray:
        variable = self._lookup(name)
        dtype = _CT2_DTYPES[variable.dtype_id]
        self._stream.seek(variable.offset)
        data = np.frombuffer(read_exact(self._stream, variable.n_bytes, self.path), dtype=dtype)
        if variable.dtype_id == _CT2_BF16:
            data = (data.astype(np.uint32) << 16).view(np.float32)
        return data.reshape(variable.shape)

    def array(self, name: str) -> np.ndarray:
        """A weight as float16/float32; integer weights are dequantised with ``<name>_scale``."""
        data = self.raw(name)
        if data.dtype.kind == "f":
            return data
        scale_name = f"{name}_scale"
        if scale_name not in self.variables:
            raise ModelAcquisitionError(f"{self.path}: integer variable {name} has no {scale_name}")
        scale = self.raw(scale_name).astype(np.float32)
        scale = scale.reshape(scale.shape + (1,) * (data.ndim - scale.ndim)) if scale.ndim else scale
        return data.astype(np.float32) / scale

    def scalar(self, name: str) -> int:
        return int(self.raw(name).reshape(-1)[0])

    def has(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables

    def count_layers(self, prefix: str) -> int:
        pattern = re.compile(rf"{re.escape(prefix)}/layer_(\d+)/")
        indices = {int(m.group(1)) for name in self.variables if (m := pattern.match(name))}
        if indices != set(range(len(indices))):
            raise ModelAcquisitionError(f"{self.path}: {prefix} layers are not numbered 0..n-1")
        return len(indices)


# --- mel filters and vocabulary ------------------------------------------------------------

_MEL_F_SP = 200.0 / 3.0
_MEL_MIN_LOG_HZ = 1000.0
_MEL_MIN_LOG_MEL = _MEL_MIN_LOG_HZ / _MEL_F_SP
_MEL_LOGSTEP = float(np.log(6.4) / 27.0)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    log_part = _MEL_MIN_LOG_MEL + np.log(np.maximum(hz, _MEL_MIN_LOG_HZ) / _MEL_MIN_LOG_HZ) / _MEL_LOGSTEP
    return np.where(hz >= _MEL_MIN_LOG_HZ, log_part, hz / _MEL_F_SP)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    log_mels = np.maximum(mels, _MEL_MIN_LOG_MEL) - _MEL_MIN_LOG_MEL
    log_part = _MEL_MIN_LOG_HZ * np.exp(_MEL_LOGSTEP * log_mels)
    return np.where(mels >= _MEL_MIN_LOG_MEL, log_part, _MEL_F_SP * mels)


def mel_filterbank(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-style, area-normalised triangular mel filters (librosa's defaults), float32."""
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_range = _hz_to_mel(np.array([0.0, sample_rate / 2]))
    mel_edges = np.linspace(mel_range[0], mel_range[1], n_mels + 2)
    hz_edges = _mel_to_hz(mel_edges)
    widths = np.diff(hz_edges)
    ramps = np.subtract.outer(hz_edges, fft_freqs)
    weights = np.zeros((n_mels, fft_freqs.size), dtype=np.float32)
    for i in range(n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (hz_edges[2:n_mels + 2] - hz_edges[:n_mels]))[:, np.newaxis]
    return np.abs(weights)  # -0.0 → +0.0, as in whisper's mel_filters.npz


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode table: BPE symbol → byte."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    symbols = dict(zip(printable, printable, strict=True))
    extra = 0
    for byte in range(256):
        if byte not in symbols:
            symbols[byte] = 256 + extra
            extra += 1
    return {chr(symbol): byte for byte, symbol in symbols.items()}


def load_vocabulary(model_dir: Path) -> list[str]:
    """Token strings by id from vocabulary.json, vocabulary.txt or tokenizer.json."""
    if (path := model_dir / "vocabulary.json").is_file():
        return [str(token) for token in json.loads(path.read_text(encoding="utf-8"))]
    if (path := model_dir / "vocabulary.txt").is_file():
        tokens = path.read_text(encoding="utf-8").split("\n")
        return tokens[:-1] if tokens and tokens[-1] == "" else tokens
    if (path := model_dir / "tokenizer.json").is_file():
        tokenizer = json.loads(path.read_text(encoding="utf-8"))
        by_id = {int(i): str(t) for t, i in tokenizer["model"]["vocab"].items()}
        by_id.update({int(t["id"]): str(t["content"]) for t in tokenizer.get("added_tokens", [])})
        return [by_id.get(i, "") for i in range(max(by_id) + 1)]
    raise ModelAcquisitionError(f"{model_dir}: no vocabulary.json, vocabulary.txt or tokenizer.json")


def vocabulary_bytes(tokens: list[str]) -> list[bytes]:
    """The first 50257 BPE tokens as raw bytes (what whisper.cpp's vocabulary holds)."""
    decoder = _byte_decoder()
    try:
        return [bytes(decoder[symbol] for symbol in token) for token in tokens[:BPE_BASE_VOCAB]]
    except KeyError as exc:
        raise ModelAcquisitionError(f"vocabulary holds a non byte-level BPE symbol {exc}") from exc


# --- conversion --------------------------------------------------------------------------

@dataclass(frozen=True)
class _TensorSource:
    ggml_name: str
    ct2_name: str
    part: int | None = None  # index of the equal row block of a fused (q,k,v / k,v) tensor
    n_parts: int = 1

    @property
    def keeps_f32(self) -> bool:
        """1-D tensors, conv biases and positional embeddings stay float32 in f16 files."""
        return self.ggml_name.endswith(("positional_embedding", "conv1.bias", "conv2.bias"))


def _linear(ggml: str, ct2: str, *, bias: bool = True, part: int | None = None, n_parts: int = 1
            ) -> list[_TensorSource]:
    tensors = [_TensorSource(f"{ggml}.weight", f"{ct2}/weight", part, n_parts)]
    if bias:
        tensors.append(_TensorSource(f"{ggml}.bias", f"{ct2}/bias", part, n_parts))
    return tensors


def _layer_norm(ggml: str, ct2: str) -> list[_TensorSource]:
    return [_TensorSource(f"{ggml}.weight", f"{ct2}/gamma"), _TensorSource(f"{ggml}.bias", f"{ct2}/beta")]


def _block_sources(side: str, layer: int) -> list[_TensorSource]:
    # The key projection has no bias in Whisper (CTranslate2 stores zeros); a key bias
    # would not change attention anyway (it adds a per-query constant before softmax).
    ggml, ct2 = f"{side}.blocks.{layer}", f"{side}/layer_{layer}"
    qkv = f"{ct2}/self_attention/linear_0"
    tensors = [*_linear(f"{ggml}.attn.query", qkv, part=0, n_parts=3),
               *_linear(f"{ggml}.attn.key", qkv, bias=False, part=1, n_parts=3),
               *_linear(f"{ggml}.attn.value", qkv, part=2, n_parts=3),
               *_linear(f"{ggml}.attn.out", f"{ct2}/self_attention/linear_1"),
               *_layer_norm(f"{ggml}.attn_ln", f"{ct2}/self_attention/layer_norm")]
    if side == "decoder":
        cross = f"{ct2}/attention"
        tensors += [*_linear(f"{ggml}.cross_attn.query", f"{cross}/linear_0"),
                    *_linear(f"{ggml}.cross_attn.key", f"{cross}/linear_1", bias=False, part=0, n_parts=2),
                    *_linear(f"{ggml}.cross_attn.value", f"{cross}/linear_1", part=1, n_parts=2),
                    *_linear(f"{ggml}.cross_attn.out", f"{cross}/linear_2"),
                    *_layer_norm(f"{ggml}.cross_attn_ln", f"{cross}/layer_norm")]
    return [*tensors, *_linear(f"{ggml}.mlp.0", f"{ct2}/ffn/linear_0"),
            *_linear(f"{ggml}.mlp.2", f"{ct2}/ffn/linear_1"),
            *_layer_norm(f"{ggml}.mlp_ln", f"{ct2}/ffn/layer_norm")]


def tensor_sources(hparams: WhisperHparams) -> list[_TensorSource]:
    """Every ggml tensor whisper.cpp expects, in OpenAI ``state_dict`` order."""
    encoder = [_TensorSource("encoder.positional_embedding", "encoder/position_encodings/encodings"),
               *_linear("encoder.conv1", "encoder/conv1"), *_linear("encoder.conv2", "encoder/conv2")]
    for layer in range(hparams.n_audio_layer):
        encoder += _block_sources("encoder", layer)
    encoder += _layer_norm("encoder.ln_post", "encoder/layer_norm")
    decoder = [_TensorSource("decoder.positional_embedding", "decoder/position_encodings/encodings"),
               _TensorSource("decoder.token_embedding.weight", "decoder/embeddings/weight")]
    for layer in range(hparams.n_text_layer):
        decoder += _block_sources("decoder", layer)
    return encoder + decoder + _layer_norm("decoder.ln", "decoder/layer_norm")


def _heads(ct2: Ct2ModelFile, side: str, n_state: int) -> int:
    # Every Whisper size uses 64-dimensional heads; older exports may lack the scalar.
    return ct2.scalar(f"{side}/num_heads") if ct2.has(f"{side}/num_heads") else n_state // 64


def read_ct2_hparams(ct2: Ct2ModelFile, ftype: int) -> WhisperHparams:
    embeddings = ct2._lookup("decoder/embeddings/weight").shape
    conv1 = ct2._lookup("encoder/conv1/weight").shape
    hparams = WhisperHparams(
        n_vocab=embeddings[0], n_audio_ctx=ct2._lookup("encoder/position_encodings/encodings").shape[0],
        n_audio_state=conv1[0], n_audio_head=_heads(ct2, "encoder", conv1[0]),
        n_audio_layer=ct2.count_layers("encoder"),
        n_text_ctx=ct2._lookup("decoder/position_encodings/encodings").shape[0],
        n_text_state=embeddings[1], n_text_head=_heads(ct2, "decoder", embeddings[1]),
        n_text_layer=ct2.count_layers("decoder"), n_mels=conv1[1], ftype=ftype)
    if hparams.n_audio_state != hparams.n_text_state or hparams.n_mels not in (80, 128):
        raise ModelAcquisitionError(f"{ct2.path}: unsupported Whisper shape {hparams.as_tuple()}")
    return hparams


class _FusedReader:
    """Reads CTranslate2 variables, keeping the last one so fused q/k/v is read once."""

    def __init__(self, ct2: Ct2ModelFile) -> None:
        self._ct2 = ct2
        self._last: tuple[str, np.ndarray] | None = None

    def tensor(self, source: _TensorSource) -> np.ndarray:
        if self._last is None or self._last[0] != source.ct2_name:
            self._last = (source.ct2_name, self._ct2.array(source.ct2_name))
        data = self._last[1]
        if source.part is not None:
            rows = data.shape[0] // source.n_parts
            data = data[source.part * rows:(source.part + 1) * rows]
        if source.ggml_name.endswith(("conv1.bias", "conv2.bias")):
            data = data.reshape(data.shape[0], 1)
        return data


def _write_tensor(out: BinaryIO, name: str, data: np.ndarray, ggml_type: int) -> None:
    encoded = name.encode("utf-8")
    dims = data.shape[::-1]
    out.write(struct.pack(f"<3i{len(dims)}i", len(dims), len(encoded), ggml_type, *dims))
    out.write(encoded)
    out.write(np.ascontiguousarray(data).data)


def convert_ct2_to_ggml(model_dir: Path, out_path: Path, *, output_type: OutputType = "f16",
                        progress: ProgressCallback | None = None) -> GgmlHeader:
    """Convert a CTranslate2 Whisper directory to ``out_path`` (written atomically)."""
    model_dir, out_path = Path(model_dir), Path(out_path)
    if output_type not in ("f16", "f32"):
        raise ModelAcquisitionError(f"output type must be f16 or f32, not {output_type!r}")
    if not (model_dir / "model.bin").is_file():
        raise ModelAcquisitionError(f"{model_dir}: no CTranslate2 model.bin")
    tokens = load_vocabulary(model_dir)
    tmp_path = out_path.with_name(out_path.name + ".tmp")
    with Ct2ModelFile(model_dir / "model.bin") as ct2:
        hparams = read_ct2_hparams(ct2, ftype=1 if output_type == "f16" else 0)
        if len(tokens) != hparams.n_vocab:
            raise ModelAcquisitionError(
                f"{model_dir}: vocabulary has {len(tokens)} tokens, the model {hparams.n_vocab}")
        sources = tensor_sources(hparams)
        reader = _FusedReader(ct2)
        try:
            with tmp_path.open("wb") as out:
                out.write(struct.pack("<12i", GGML_MAGIC, *hparams.as_tuple()))
                filters = mel_filterbank(hparams.n_mels)
                out.write(struct.pack("<2i", *filters.shape))
                out.write(filters.astype("<f4").tobytes())
                vocab = vocabulary_bytes(tokens)
                out.write(struct.pack("<i", len(vocab)))
                for token in vocab:
                    out.write(struct.pack("<i", len(token)) + token)
                for done, source in enumerate(sources, start=1):
                    data = reader.tensor(source)
                    if source.keeps_f32 or data.ndim < 2 or output_type == "f32":
                        _write_tensor(out, source.ggml_name, data.astype("<f4", copy=False), GGML_TYPE_F32)
                    else:
                        _write_tensor(out, source.ggml_name, data.astype("<f2", copy=False), GGML_TYPE_F16)
                    if progress is not None:
                        progress(done, len(sources), source.ggml_name)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_path, out_path)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    return read_ggml_header(out_path)
