"""The CUDA build's pieces that need no GPU: vendor/cuda_setup.py and the built libggml-cuda.

cuda_setup finds nvcc (following a wrapper script to the toolkit), uses the toolkit's cuBLAS
or the nvidia-cublas wheel of the same CUDA release; checked on fake toolkits. When this
build has libggml-cuda.so, its RPATH must reach the wheel's and the toolkit's libraries so
that it loads without LD_LIBRARY_PATH.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO_ROOT


def _cuda_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cuda_setup", REPO_ROOT / "vendor" / "cuda_setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _toolkit(root: Path, *, cublas: bool) -> Path:
    nvcc = _script(root / "bin" / "nvcc", 'echo "Cuda compilation tools, release 13.0, V13.0.88"\n')
    (root / "include").mkdir(parents=True)
    (root / "include" / "cuda_runtime.h").write_text("")
    (root / "lib64").mkdir()
    if cublas:
        (root / "lib64" / "libcublas.so.13").write_text("")
    return nvcc


def test_wheel_names_follow_the_cuda_release() -> None:
    setup = _cuda_setup()
    assert setup.wheel_spec(13, 0) == ("nvidia-cublas==13.0.*", "cu13")
    assert setup.wheel_spec(12, 4) == ("nvidia-cublas-cu12==12.4.*", "cublas")


def test_toolkit_cublas_needs_no_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = _cuda_setup()
    nvcc = _toolkit(tmp_path / "cuda-13.0", cublas=True)
    monkeypatch.setenv("CUDACXX", str(nvcc))
    args = setup.cmake_args("90", install=False)
    assert args == [f"-DCMAKE_CUDA_COMPILER={nvcc}", f"-DCUDAToolkit_ROOT={tmp_path / 'cuda-13.0'}",
                    "-DCMAKE_CUDA_ARCHITECTURES=90"]


def test_wrapper_script_is_followed_to_the_toolkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = _cuda_setup()
    real = _toolkit(tmp_path / "cuda-13.0", cublas=True)
    dry_run = f'echo "#$ _HERE_={real.parent}" >&2'
    body = f'case "$1" in --dryrun) {dry_run};; *) exec {real} "$@";; esac\n'
    wrapper = _script(tmp_path / "bin" / "nvcc", body)
    monkeypatch.setenv("CUDACXX", str(wrapper))
    assert setup.find_nvcc() == real
    assert setup.nvcc_version(setup.find_nvcc()) == (13, 0)


def test_wheel_cublas_when_the_toolkit_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = _cuda_setup()
    monkeypatch.setenv("CUDACXX", str(_toolkit(tmp_path / "cuda-13.0", cublas=False)))
    site = tmp_path / "site"
    monkeypatch.setattr(setup.sysconfig, "get_paths", lambda: {"platlib": str(site), "purelib": str(site)})
    with pytest.raises(setup.CudaSetupError, match=r"no cuBLAS: .*nvidia-cublas==13\.0\.\* is not installed"):
        setup.cmake_args("90", install=False)
    wheel = site / "nvidia" / "cu13"
    (wheel / "include").mkdir(parents=True)
    (wheel / "include" / "cublas_v2.h").write_text("")
    (wheel / "lib").mkdir()
    (wheel / "lib" / "libcublas.so.13").write_text("")
    assert setup.cmake_args("", install=False)[-1] == f"-DLOCALWHISPER_CUBLAS_DIR={wheel}"


def test_cuda_library_loads_without_library_path() -> None:
    from whisper_native._loader import library_dir

    lib = library_dir() / "libggml-cuda.so"
    if not lib.exists():
        pytest.skip("a CPU build: no libggml-cuda.so (CMAKE_ARGS=-DGGML_CUDA=on make build makes one)")
    if not (shutil.which("readelf") and shutil.which("ldd")):
        pytest.skip("readelf/ldd not installed")
    dynamic = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
    rpath = next(line for line in dynamic.splitlines() if "RUNPATH" in line or "RPATH" in line)
    assert "$ORIGIN:" in rpath
    assert "$ORIGIN/../../nvidia/cu13/lib" in rpath or "$ORIGIN/../../nvidia/cublas/lib" in rpath
    assert "NEEDED" in dynamic and "libcublas.so" in dynamic
    env = {"PATH": "/usr/bin:/bin"}  # no LD_LIBRARY_PATH
    linked = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, check=True, env=env).stdout
    for name in ("libcublas.so", "libcublasLt.so", "libcudart.so", "libggml-base.so"):
        line = next(line for line in linked.splitlines() if name in line)
        assert "not found" not in line, linked


def test_architectures_nvcc_lacks_are_left_out() -> None:
    setup = _cuda_setup()
    cuda_12_6 = {"50", "52", "60", "61", "70", "75", "80", "86", "87", "89", "90"}
    assert setup.usable_archs("75;80;86;89;90;120", cuda_12_6) == "75;80;86;89;90"
    assert setup.usable_archs("70;90-real;120a-real", {"75", "90", "120"}) == "90-real;120a-real"
    assert setup.usable_archs("native", cuda_12_6) == "native"
    assert setup.usable_archs("75;120", set()) == "75;120"  # nvcc could not list: CMake decides
    with pytest.raises(setup.CudaSetupError, match="none of the architectures"):
        setup.usable_archs("120", cuda_12_6)
