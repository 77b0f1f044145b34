"""Whisper ggml model files (the layout whisper.cpp loads): read and validate.

Layout: ``i32 magic 0x67676d6c``; 11 × i32 hparams; mel filters (``i32 n_mel``, ``i32 n_fft``
= 201, float32 data); vocabulary (``i32 count``, then ``i32 len`` + bytes per token);
tensors (``i32 n_dims``, ``i32 name_len``, ``i32 ggml_type``, dims innermost first, name,
data). The header's ftype is ``qntvr * 1000 + ggml_ftype``.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from localwhisper.errors import ModelLoadError

GGML_MAGIC = 0x67676D6C
GGML_QNT_VERSION_FACTOR = 1000
N_FFT_BINS = 201  # n_fft 400 → 201 frequency bins
MULTILINGUAL_MIN_VOCAB = 51_865
GGML_TYPE_F32, GGML_TYPE_F16 = 0, 1

# ggml_ftype (file header) → name
FTYPE_NAMES: dict[int, str] = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1",
                               10: "q2_k", 11: "q3_k", 12: "q4_k", 13: "q5_k", 14: "q6_k", 24: "bf16"}
# ggml_type (per tensor) → (bytes per block, elements per block)
GGML_TYPE_BLOCKS: dict[int, tuple[int, int]] = {
    0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32),
    10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256), 30: (2, 1)}
HPARAM_NAMES = ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
                "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype")


@dataclass(frozen=True)
class WhisperHparams:
    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int  # raw header value: qntvr * 1000 + ggml_ftype

    @property
    def multilingual(self) -> bool:
        return self.n_vocab >= MULTILINGUAL_MIN_VOCAB

    @property
    def ftype_name(self) -> str:
        base = self.ftype % GGML_QNT_VERSION_FACTOR
        return FTYPE_NAMES.get(base, f"ftype{base}")

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in HPARAM_NAMES)


@dataclass(frozen=True)
class GgmlTensorInfo:
    name: str
    ggml_type: int
    dims: tuple[int, ...]  # innermost first, as stored
    data_offset: int
    n_bytes: int


@dataclass(frozen=True)
class GgmlHeader:
    hparams: WhisperHparams
    n_mel_filters: int
    n_fft_bins: int
    n_vocab_tokens: int
    tensors_offset: int
    file_size: int


def read_exact(stream: BinaryIO, n: int, path: Path) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise ModelLoadError(f"{path}: file is truncated")
    return data


def read_ggml_header(path: Path) -> GgmlHeader:
    """Validate magic, hparams, mel filters and vocabulary of a whisper ggml file."""
    path = Path(path)
    with path.open("rb") as stream:
        magic, *values = struct.unpack("<12i", read_exact(stream, 48, path))
        if magic != GGML_MAGIC:
            raise ModelLoadError(f"{path}: not a whisper.cpp ggml file (magic {magic:#x})")
        hparams = WhisperHparams(*values)
        if min(hparams.as_tuple()[:10]) <= 0 or hparams.n_mels not in (80, 128):
            raise ModelLoadError(f"{path}: implausible hparams {hparams.as_tuple()}")
        if hparams.ftype % GGML_QNT_VERSION_FACTOR not in FTYPE_NAMES:
            raise ModelLoadError(f"{path}: unknown ftype {hparams.ftype}")
        n_mel, n_fft = struct.unpack("<2i", read_exact(stream, 8, path))
        if n_mel != hparams.n_mels or n_fft != N_FFT_BINS:
            raise ModelLoadError(f"{path}: mel filters are {n_mel}×{n_fft}, expected {hparams.n_mels}×201")
        stream.seek(n_mel * n_fft * 4, os.SEEK_CUR)
        (n_tokens,) = struct.unpack("<i", read_exact(stream, 4, path))
        if not 0 < n_tokens <= hparams.n_vocab:
            raise ModelLoadError(f"{path}: vocabulary of {n_tokens} tokens for n_vocab {hparams.n_vocab}")
        for _ in range(n_tokens):
            (length,) = struct.unpack("<i", read_exact(stream, 4, path))
            if not 0 <= length < 1024:
                raise ModelLoadError(f"{path}: corrupt vocabulary")
            stream.seek(length, os.SEEK_CUR)
        return GgmlHeader(hparams, n_mel, n_fft, n_tokens, stream.tell(), path.stat().st_size)


def iter_ggml_tensors(path: Path, header: GgmlHeader | None = None) -> Iterator[GgmlTensorInfo]:
    """Walk the tensor records; raises ModelLoadError on a truncated or unknown record."""
    path = Path(path)
    header = header or read_ggml_header(path)
    with path.open("rb") as stream:
        offset = header.tensors_offset
        while offset < header.file_size:
            stream.seek(offset)
            n_dims, name_len, ggml_type = struct.unpack("<3i", read_exact(stream, 12, path))
            if not (1 <= n_dims <= 4 and 0 < name_len < 256 and ggml_type in GGML_TYPE_BLOCKS):
                raise ModelLoadError(f"{path}: corrupt tensor record at byte {offset}")
            dims = struct.unpack(f"<{n_dims}i", read_exact(stream, 4 * n_dims, path))
            name = read_exact(stream, name_len, path).decode("utf-8", errors="replace")
            block_bytes, block_elems = GGML_TYPE_BLOCKS[ggml_type]
            n_elements = math.prod(dims)
            if n_elements % block_elems:
                raise ModelLoadError(f"{path}: tensor {name} does not fill whole blocks")
            n_bytes = n_elements // block_elems * block_bytes
            data_offset = offset + 12 + 4 * n_dims + name_len
            if data_offset + n_bytes > header.file_size:
                raise ModelLoadError(f"{path}: truncated in tensor {name}")
            yield GgmlTensorInfo(name, ggml_type, tuple(dims), data_offset, n_bytes)
            offset = data_offset + n_bytes
