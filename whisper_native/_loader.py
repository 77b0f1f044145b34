"""Find and load libwhisper and the ggml libraries.

Search order for the library directory:
1. ``LOCALWHISPER_LIB_DIR`` (an explicit override),
2. ``whisper_native/lib`` next to this file (wheel installs, in-place builds),
3. ``whisper_native/lib`` in the interpreter's platlib (editable installs, where
   compiled files live in site-packages while the Python sources stay here).

With ``GGML_BACKEND_DL`` builds the CPU code lives in ``libggml-cpu-<variant>.so``
modules; :func:`load_library` loads them from the same directory with
``ggml_backend_load_all_from_path`` before any context exists, so ggml picks
the best variant this CPU (and its OS) supports.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
import threading
from pathlib import Path

LIB_DIR_ENV = "LOCALWHISPER_LIB_DIR"


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
        # void ggml_backend_load_all_from_path(const char * dir_path);
        load_all = ggml.ggml_backend_load_all_from_path
        load_all.argtypes = [ctypes.c_char_p]
        load_all.restype = None
        if any(directory.glob(_shared_name("ggml-cpu*"))):
            load_all(str(directory).encode())
        _libraries["whisper"] = whisper
        _libraries["ggml"] = ggml
        return whisper, ggml
