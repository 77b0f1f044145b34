#!/usr/bin/env python3
"""CMake arguments for a CUDA build, printed on one line for ``make build``.

Finds nvcc (``CUDACXX``, ``PATH``, ``CUDA_HOME``/``CUDA_PATH``, /usr/local/cuda*), reads its
version, and uses the toolkit's cuBLAS when it has one; otherwise installs NVIDIA's cuBLAS
wheel for the same CUDA release into this interpreter (``nvidia-cublas==13.0.*`` for CUDA 13.0,
``nvidia-cublas-cu12==12.N.*`` for 12.N) and points CMake at it (LOCALWHISPER_CUBLAS_DIR).
Standard library only. Messages go to stderr; stdout carries only the arguments.

Architectures nvcc cannot build (120 before CUDA 12.8) are left out of ``--archs`` with a note.

Usage: cuda_setup.py [--archs "75;80;86;89;90;120"] [--no-install]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


class CudaSetupError(RuntimeError):
    pass


def find_nvcc() -> Path:
    """The toolkit's own nvcc (a wrapper script on PATH is followed to the one it runs)."""
    candidates = [os.environ.get("CUDACXX")]
    candidates += [str(Path(root) / "bin" / "nvcc") for root in (os.environ.get("CUDA_HOME"),
                                                                   os.environ.get("CUDA_PATH")) if root]
    candidates += [shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc",
                   *sorted(glob.glob("/usr/local/cuda-*/bin/nvcc"), reverse=True)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return _real_nvcc(Path(candidate).resolve())
    raise CudaSetupError("nvcc not found (set CUDACXX or CUDA_HOME, or put nvcc on PATH)")


def _real_nvcc(nvcc: Path) -> Path:
    if (nvcc.parent.parent / "include" / "cuda_runtime.h").is_file():
        return nvcc
    dry = subprocess.run([str(nvcc), "--dryrun", "-E", "-x", "cu", os.devnull],
                         capture_output=True, text=True)
    match = re.search(r"^#\$ _HERE_=(.+)$", dry.stdout + dry.stderr, re.MULTILINE)
    real = Path(match.group(1).strip()) / "nvcc" if match else nvcc
    return real.resolve() if real.is_file() else nvcc


def nvcc_version(nvcc: Path) -> tuple[int, int]:
    text = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release (\d+)\.(\d+)", text)
    if not match:
        raise CudaSetupError(f"cannot read the CUDA release from `{nvcc} --version`")
    return int(match.group(1)), int(match.group(2))


def supported_archs(nvcc: Path) -> set[str]:
    """Real architectures this nvcc compiles for ("75", "90", "120", ...); empty when it cannot say."""
    done = subprocess.run([str(nvcc), "--list-gpu-arch"], capture_output=True, text=True)
    return set(re.findall(r"compute_(\d+)", done.stdout)) if done.returncode == 0 else set()


def usable_archs(archs: str, supported: set[str]) -> str:
    """Drop the numbered entries of a CMAKE_CUDA_ARCHITECTURES list that this nvcc lacks (13 has no 70)."""
    if not supported:
        return archs
    kept, dropped = [], []
    for entry in filter(None, archs.split(";")):
        number = re.match(r"\d+", entry)
        (dropped if number and number.group() not in supported else kept).append(entry)
    if dropped:
        print(f"cuda_setup: this nvcc cannot build {';'.join(dropped)}: left out", file=sys.stderr)
    if not kept:
        raise CudaSetupError(f"none of the architectures {archs!r} is supported by this nvcc")
    return ";".join(kept)


def toolkit_has_cublas(nvcc: Path) -> bool:
    root = nvcc.parent.parent
    dirs = [root / "lib64", root / "lib", *root.glob("targets/*/lib")]
    return any(next(d.glob("libcublas.so*"), None) for d in dirs if d.is_dir())


def wheel_spec(major: int, minor: int) -> tuple[str, str]:
    """(pip requirement, folder under site-packages/nvidia) of the cuBLAS wheel for this CUDA."""
    if major >= 13:
        return f"nvidia-cublas=={major}.{minor}.*", f"cu{major}"
    return f"nvidia-cublas-cu{major}=={major}.{minor}.*", "cublas"


def installed_cublas_dir(folder: str) -> Path | None:
    for key in ("platlib", "purelib"):
        path = Path(sysconfig.get_paths()[key]) / "nvidia" / folder
        if (path / "include" / "cublas_v2.h").is_file() and next((path / "lib").glob("libcublas.so.*"), None):
            return path
    return None


def cublas_wheel_dir(major: int, minor: int, install: bool) -> Path:
    requirement, folder = wheel_spec(major, minor)
    found = installed_cublas_dir(folder)
    if found is None and install:
        print(f"cuda_setup: the toolkit has no cuBLAS; installing {requirement} from PyPI", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        requirement], check=True, stdout=sys.stderr)
        found = installed_cublas_dir(folder)
    if found is None:
        raise CudaSetupError(f"no cuBLAS: the toolkit has none and {requirement} is not installed")
    return found


def cmake_args(archs: str, install: bool = True) -> list[str]:
    nvcc = find_nvcc()
    major, minor = nvcc_version(nvcc)
    args = [f"-DCMAKE_CUDA_COMPILER={nvcc}", f"-DCUDAToolkit_ROOT={nvcc.parent.parent}"]
    if archs:
        args.append(f"-DCMAKE_CUDA_ARCHITECTURES={usable_archs(archs, supported_archs(nvcc))}")
    if toolkit_has_cublas(nvcc):
        print(f"cuda_setup: CUDA {major}.{minor} at {nvcc.parent.parent}, its own cuBLAS", file=sys.stderr)
    else:
        wheel = cublas_wheel_dir(major, minor, install)
        print(f"cuda_setup: CUDA {major}.{minor} at {nvcc.parent.parent}, cuBLAS from {wheel}",
              file=sys.stderr)
        args.append(f"-DLOCALWHISPER_CUBLAS_DIR={wheel}")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="", help="CMAKE_CUDA_ARCHITECTURES, e.g. 90 or native")
    parser.add_argument("--no-install", action="store_true", help="never pip-install the cuBLAS wheel")
    options = parser.parse_args(argv)
    try:
        print(" ".join(cmake_args(options.archs, install=not options.no_install)))
    except (CudaSetupError, subprocess.CalledProcessError) as exc:
        print(f"cuda_setup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
