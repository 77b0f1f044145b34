"""The bf16 copy of an f16 whisper ggml file, written by us (whisper-quantize has no bf16).

whisper.cpp creates every matrix of the model (attention, MLP and the token embedding) in the
file's weight type and the convolutions in f16, and reads each tensor's bytes as they are
stored without checking their type; so a bf16 file converts exactly the 2-D f16 tensors (the
f32 biases, norms and positional embeddings and the 3-D f16 convolutions stay) and sets the
header's ftype to ``GGML_FTYPE_MOSTLY_BF16``. Rounding is to nearest, ties to even, as ggml's
own ``ggml_fp32_to_bf16``. The file is written one tensor at a time (memory O(largest tensor));
``quantize.quantize_file`` writes it under a temporary name, checks it and renames it.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models.ggml_file import GGML_TYPE_F16, iter_ggml_tensors, read_ggml_header

GGML_TYPE_BF16 = 30
GGML_FTYPE_MOSTLY_BF16 = 24
_FTYPE_OFFSET = 4 + 10 * 4  # magic, then ftype is the 11th hparam


def f16_to_bf16(values: np.ndarray) -> np.ndarray:
    """f16 → bf16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    bits = values.astype(np.float32).view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    rounded[nan] = ((bits[nan] >> 16) | np.uint32(0x40)).astype(np.uint16)  # quiet NaN
    return rounded


def write_bf16_copy(source: Path, target: Path) -> None:
    """Write ``target``, the bf16 copy of the f16 ggml file ``source``."""
    header = read_ggml_header(source)
    if header.hparams.ftype_name != "f16":
        raise ModelAcquisitionError(f"{source.name}: a bf16 copy is made from f16 weights, "
                                    f"not {header.hparams.ftype_name}")
    with source.open("rb") as src, target.open("wb") as dst:
        head = bytearray(src.read(header.tensors_offset))
        struct.pack_into("<i", head, _FTYPE_OFFSET, GGML_FTYPE_MOSTLY_BF16)
        dst.write(head)
        for tensor in iter_ggml_tensors(source, header):  # validated; records are contiguous
            record = src.read(tensor.data_offset - src.tell())  # n_dims, name_len, type, dims, name
            data = src.read(tensor.n_bytes)
            if len(tensor.dims) == 2 and tensor.ggml_type == GGML_TYPE_F16:
                record = record[:8] + struct.pack("<i", GGML_TYPE_BF16) + record[12:]
                data = f16_to_bf16(np.frombuffer(data, np.float16)).tobytes()
            dst.write(record + data)
