"""The engine patch series: headers, exact application, the lock's tree digest."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PATCHES = REPO / "vendor" / "patches"
sys.path.insert(0, str(REPO / "vendor"))

import fetch_whisper_cpp  # noqa: E402
from patch_series import PatchError, apply_series, series  # noqa: E402


def _cached_sdist() -> Path:
    lock = fetch_whisper_cpp.read_lock()
    sdist = REPO / ".cache" / "downloads" / lock["sdist"]
    if not sdist.is_file():
        pytest.fail(f"{sdist} missing: `make build` fetches it")
    return sdist


@pytest.mark.parametrize("patch", sorted(PATCHES.glob("*.patch")), ids=lambda p: p.name)
def test_each_patch_has_a_header_and_a_test_that_exists(patch: Path) -> None:
    assert re.fullmatch(r"\d{4}-[a-z0-9-]+\.patch", patch.name)
    header = patch.read_text().split("\n--- a/", 1)[0]
    for field in ("Subject:", "What:", "Why:", "Upstream:", "Test:"):
        assert f"\n{field}" in "\n" + header, f"{patch.name} lacks {field}"
    named = re.findall(r"tests/(test_\w+\.py)(?:::(test_\w+))?", header.split("Test:", 1)[1])
    assert named, f"{patch.name}: Test: names no test"
    for file_name, function in named:
        source = (REPO / "tests" / file_name).read_text()
        assert not function or f"def {function}(" in source, f"{patch.name}: {file_name}::{function} missing"


def test_series_applies_on_a_clean_fetch_and_matches_the_lock(tmp_path: Path) -> None:
    tree = tmp_path / "whisper.cpp"
    fetch_whisper_cpp.ensure_source(tree, tmp_path, sdist=_cached_sdist())  # checks the digest
    record = (tree / fetch_whisper_cpp.SERIES_NAME).read_text()
    assert all(p.name in record for p in PATCHES.glob("*.patch"))
    assert "ldtilecfg %0" in (tree / "ggml/src/ggml-cpu/amx/mmq.cpp").read_text()


def test_a_patch_that_does_not_apply_is_a_hard_error_naming_it(tmp_path: Path) -> None:
    patch_dir = tmp_path / "patches"
    shutil.copytree(PATCHES, patch_dir)
    broken = patch_dir / "0002-whisper-abort-in-graph.patch"
    text = broken.read_text()
    assert "\n       ggml_backend_sched_t   sched,\n" in text  # a context line of hunk 1
    broken.write_text(text.replace("ggml_backend_sched_t   sched,", "ggml_backend_sched_t   schedule,", 1))
    with pytest.raises(fetch_whisper_cpp.FetchError, match=re.escape("0002-whisper-abort-in-graph.patch")):
        fetch_whisper_cpp.ensure_source(tmp_path / "whisper.cpp", tmp_path, sdist=_cached_sdist(),
                                        patch_dir=patch_dir)


def test_a_changed_series_without_a_new_lock_digest_is_refused(tmp_path: Path) -> None:
    patch_dir = tmp_path / "patches"
    shutil.copytree(PATCHES, patch_dir)
    sorted(patch_dir.glob("*.patch"))[-1].unlink()  # the last: the others still apply exactly
    with pytest.raises(fetch_whisper_cpp.FetchError, match="patched_tree_sha256"):
        fetch_whisper_cpp.ensure_source(tmp_path / "whisper.cpp", tmp_path, sdist=_cached_sdist(),
                                        patch_dir=patch_dir)


def test_applying_twice_fails_at_the_first_hunk(tmp_path: Path) -> None:
    target = tmp_path / "ggml/src/ggml-cpu/amx"
    target.mkdir(parents=True)
    patched = REPO / "vendor" / "whisper.cpp" / "ggml/src/ggml-cpu/amx/mmq.cpp"
    shutil.copyfile(patched, target / "mmq.cpp")  # already patched by the build
    first = [p for p in series(PATCHES) if p["name"].startswith("0001-")]
    with pytest.raises(PatchError, match=r"0001-ggml-amx-tile-config.patch: .*mmq.cpp: hunk 1"):
        apply_series(tmp_path, first)
