"""The ctypes mirror of whisper.h matches the compiler's layout, field by field."""

from __future__ import annotations

import ctypes
import json
import subprocess
from typing import Any

import pytest

pytestmark = pytest.mark.native


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    from whisper_native._loader import tool_path

    output = subprocess.run([str(tool_path("whisper-abi-probe"))], capture_output=True, text=True,
                            check=True, timeout=30).stdout
    return json.loads(output)


def test_probe_covers_every_mirrored_struct(probe: dict[str, Any]) -> None:
    from whisper_native import whisper_h

    assert set(probe) == set(whisper_h.MIRRORED_STRUCTS)


@pytest.mark.parametrize("c_name", [
    "whisper_ahead", "whisper_aheads", "struct whisper_context_params", "whisper_token_data",
    "whisper_model_loader", "whisper_grammar_element", "whisper_vad_params",
    "struct whisper_vad_context_params", "struct whisper_timings", "struct whisper_full_params",
])
def test_struct_layout_matches_compiler(probe: dict[str, Any], c_name: str) -> None:
    from whisper_native import whisper_h

    mirror = whisper_h.MIRRORED_STRUCTS[c_name]
    expected = probe[c_name]
    assert ctypes.sizeof(mirror) == expected["size"], c_name
    ctypes_fields = [name for name, *_ in mirror._fields_]
    assert ctypes_fields == list(expected["fields"]), "field order/names differ"
    for name, offset in expected["fields"].items():
        assert getattr(mirror, name).offset == offset, f"{c_name}.{name}"


def test_full_params_size_is_v181_layout_plus_patch_0005(probe: dict[str, Any]) -> None:
    # v1.8.1 inserted carry_initial_prompt mid-struct (296 -> 304 bytes on x86-64); patch 0005
    # appends fallback_beam_size and fallback_beam_logprob_thold (304 -> 312)
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        layout = probe["struct whisper_full_params"]
        assert layout["size"] == 312
        assert layout["fields"]["fallback_beam_size"] == 304


def test_version_matches_pin() -> None:
    import whisper_native
    from whisper_native import whisper_h

    assert whisper_native.version() == whisper_h.PINNED_VERSION == "1.8.5"


def test_version_matches_lock_file() -> None:
    from conftest import REPO_ROOT

    lock = (REPO_ROOT / "vendor" / "whisper.cpp.lock").read_text()
    assert "engine_version = 1.8.5" in lock


def test_default_params_are_sane() -> None:
    from whisper_native import whisper_h as C

    params = C.whisper_full_default_params(C.WHISPER_SAMPLING_BEAM_SEARCH)
    assert params.strategy == C.WHISPER_SAMPLING_BEAM_SEARCH
    assert params.language == b"en"
    assert params.beam_search.beam_size > 1
    vad = C.whisper_vad_default_params()
    assert 0.0 < vad.threshold < 1.0
    ctx_params = C.whisper_context_default_params()
    assert ctx_params.flash_attn is True
