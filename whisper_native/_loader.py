"""Find and load libwhisper and the ggml libraries.

Search order for the library directory:
1. ``LOCALWHISPER_LIB_DIR`` (an explicit override),
2. ``whisper_native/lib`` next to this file (wheel installs, in-place builds),
3. ``whisper_native/lib`` in the interpreter's platlib (editable installs, where
   compiled files live in site-packages while the Python sources stay here).

With ``GGML_BACKEND_DL`` builds the CPU code lives in ``libggml-cpu-<variant>.so``
modules; :func:`load_library` registers, before any context exists, the GPU
backend modules of the same directory and the one CPU variant that
:mod:`._cpu_variant` verified in a child process (best ggml score first), so no
CPU feature can kill the process. A GPU module whose driver is absent (no
``libcuda.so.1`` for ``libggml-cuda``), or any GPU module under
``LOCALWHISPER_DEVICE=cpu``, is left unloaded with one INFO line: the CPU runs.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import sysconfig
import threading
from collections.abc import Callable
from pathlib import Path

LIB_DIR_ENV = "LOCALWHISPER_LIB_DIR"
DEVICE_ENV = "LOCALWHISPER_DEVICE"
# GPU backend modules (others, e.g. BLAS, are loaded whatever the device setting)
GPU_MODULES = ("ggml-cuda", "ggml-hip", "ggml-vulkan", "ggml-sycl", "ggml-opencl", "ggml-musa", "ggml-metal")
# GPU backend module → the driver library it needs; without it dlopen would fail with an error line
GPU_DRIVERS = {"ggml-cuda": "libcuda.so.1"}
log = logging.getLogger("whisper_native.loader")


class NativeLibraryNotFound(OSError):
    """libwhisper (or one of its ggml libraries) is missing or cannot be loaded."""


def _shared_name(stem: str) -> str:
    if sys.platform == "darwin":
        return f"lib{stem}.dylib"
    if sys.platform == "win32":
        return f"{stem}.dll"
    return f"lib{stem}.so"


def candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    override = os.environ.get(LIB_DIR_ENV)
    if override:
        dirs.append(Path(override))
    dirs.append(Path(__file__).resolve().parent / "lib")
    for key in ("platlib", "purelib"):
        site = sysconfig.get_paths().get(key)
        if site:
            dirs.append(Path(site) / "whisper_native" / "lib")
    unique: list[Path] = []
    for directory in dirs:
        if directory not in unique:
            unique.append(directory)
    return unique


def library_dir() -> Path:
    """The first candidate directory that holds libwhisper."""
    wanted = _shared_name("whisper")
    searched = candidate_dirs()
    for directory in searched:
        if (directory / wanted).exists():
            return directory
    raise NativeLibraryNotFound(
        f"{wanted} not found; searched: {', '.join(str(d) for d in searched)}. "
        "Build it with `make build` (or `pip install .`), or set "
        f"{LIB_DIR_ENV} to the directory that holds it."
    )


def tool_path(name: str) -> Path:
    """A helper executable built beside the libraries (whisper-quantize, whisper-abi-probe)."""
    path = library_dir() / (name + (".exe" if sys.platform == "win32" else ""))
    if not path.exists():
        raise NativeLibraryNotFound(f"{path.name} not found in {path.parent}; rebuild the package")
    return path


_lock = threading.Lock()
_libraries: dict[str, ctypes.CDLL] = {}


def _open(directory: Path, stem: str) -> ctypes.CDLL:
    path = directory / _shared_name(stem)
    if not path.exists():
        raise NativeLibraryNotFound(f"{path.name} is missing from {directory}")
    try:
        return ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise NativeLibraryNotFound(f"cannot load {path}: {exc}") from exc


def load_shim() -> ctypes.CDLL:
    """liblocalwhisper_shim: GIL-free abort callbacks (see shim.c)."""
    with _lock:
        if "shim" not in _libraries:
            _libraries["shim"] = _open(library_dir(), "localwhisper_shim")
        return _libraries["shim"]


def load_library() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    """Load (libwhisper, libggml) once, with the ggml backends registered."""
    with _lock:
        if "whisper" in _libraries:
            return _libraries["whisper"], _libraries["ggml"]
        directory = library_dir()
        from . import _native_log

        ggml_base = _open(directory, "ggml-base")
        # void ggml_log_set(ggml_log_callback log_callback, void * user_data);
        _native_log.install(ggml_base, "ggml_log_set")
        ggml = _open(directory, "ggml")
        whisper = _open(directory, "whisper")
        # void whisper_log_set(ggml_log_callback log_callback, void * user_data);
        _native_log.install(whisper, "whisper_log_set")
        _load_backends(ggml, directory)
        _libraries["whisper"] = whisper
        _libraries["ggml"] = ggml
        return whisper, ggml


_variant_choice: list = []


def variant_choice():  # -> _cpu_variant.VariantChoice | None
    """How this process chose its CPU variant (None: a build without variant modules)."""
    load_library()
    return _variant_choice[0] if _variant_choice else None


def _load_backends(ggml: ctypes.CDLL, directory: Path) -> None:
    """Register the GPU backends found in ``directory`` and the one verified CPU variant."""
    from . import _cpu_variant

    # ggml_backend_reg_t ggml_backend_load(const char * path);
    load_one = ggml.ggml_backend_load
    load_one.argtypes = [ctypes.c_char_p]
    load_one.restype = ctypes.c_void_p
    variants = _cpu_variant.variant_files(directory)
    probe_missing = variants and not (directory / _cpu_variant.PROBE_NAME).exists()
    if probe_missing:  # an old build: ggml loads every module, GPU ones included
        _cpu_variant.log.warning("%s is missing from %s: ggml picks the CPU variant unverified",
                                 _cpu_variant.PROBE_NAME, directory)
        # void ggml_backend_load_all_from_path(const char * dir_path);
        load_all = ggml.ggml_backend_load_all_from_path
        load_all.argtypes = [ctypes.c_char_p]
        load_all.restype = None
        load_all(str(directory).encode())
        return
    cpu_prefix = _cpu_variant.VARIANT_PREFIX
    for path in sorted(directory.glob(_shared_name("ggml-*"))):
        if path.name.startswith(cpu_prefix) or path.name in (_shared_name("ggml-base"), _shared_name("ggml")):
            continue
        _load_gpu_backend(ggml, load_one, path)  # a single libggml-cpu.so (no variants) loads here too
    if not variants:  # CPU code in that one module or inside libggml
        return
    try:
        choice = _cpu_variant.choose_variant(directory)
    except _cpu_variant.NoUsableVariant as exc:
        raise NativeLibraryNotFound(str(exc)) from exc
    if choice.cached:
        _cpu_variant.log.info("ggml CPU variant %s (cached verdict): %s", choice.name, choice.reason)
    if not load_one(choice.path.encode()):
        raise NativeLibraryNotFound(f"ggml could not load the verified CPU variant {choice.path}")
    _variant_choice.append(choice)


_gpu_notes: list[str] = []


def gpu_backend_notes() -> list[str]:
    """Why each GPU backend module of the library directory is unused (empty: none, or all in use)."""
    load_library()
    return list(_gpu_notes)


def _gpu_note(text: str) -> None:
    _gpu_notes.append(text)
    log.info("%s", text)


def _load_gpu_backend(ggml: ctypes.CDLL, load_one: Callable[[bytes], int | None], path: Path) -> None:
    """Register one non-CPU backend module; for a GPU one that cannot run, one INFO line says why."""
    stem = path.name[3:].split(".")[0]  # libggml-cuda.so -> ggml-cuda
    if stem not in GPU_MODULES:
        load_one(str(path).encode())
        return
    if os.environ.get(DEVICE_ENV, "").strip().lower() == "cpu":
        _gpu_note(f"{path.name} not loaded: {DEVICE_ENV}=cpu")
        return
    driver = GPU_DRIVERS.get(stem)
    if driver:
        try:
            ctypes.CDLL(driver)
        except OSError:
            _gpu_note(f"{path.name} not loaded: no GPU driver ({driver} not found); using the CPU")
            return
    reg = load_one(str(path).encode())
    if not reg:
        _gpu_note(f"{path.name} could not be registered (see the ggml log above); using the CPU")
        return
    # size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg);
    dev_count = ggml.ggml_backend_reg_dev_count
    dev_count.argtypes = [ctypes.c_void_p]
    dev_count.restype = ctypes.c_size_t
    if dev_count(reg) == 0:
        _gpu_note(f"{path.name} loaded but found no GPU; using the CPU")
