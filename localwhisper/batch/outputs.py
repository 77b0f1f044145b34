"""The output tree: where a batch writes, atomically, and how it tells a file is done.

Every output is written to a hidden temporary name beside its target, flushed to disk
and renamed over it, so a reader (or a rerun after ``kill -9``) sees either the old
file, the whole new file, or nothing, never a truncated one. Temporaries left by a
killed run are removed when the next run starts and when it ends.

The root is a local (or shared, network-mounted) folder, or an fsspec URL such as
``s3://bucket/prefix`` when fsspec and the filesystem's driver are installed; Ray
workers write there directly, so it must be one path that every node sees.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localwhisper.errors import BatchError

PARTIAL_SUFFIX = ".partial"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(root: str) -> bool:
    return bool(_URL.match(root))


def _partial_name(name: str) -> str:
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL_SUFFIX}"


def _is_partial(name: str) -> bool:
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


class LocalTree:
    """Outputs under a folder on this machine (or a shared mount all nodes see)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.abspath(root))
        self.url = str(self.root)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write_atomic(self, relative: str, text: str) -> int:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        temporary = target.with_name(_partial_name(target.name))
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return len(data)

    def size(self, relative: str) -> int | None:
        try:
            return self.path(relative).stat().st_size
        except OSError:
            return None

    def remove_partials(self) -> int:
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if _is_partial(name):
                    Path(folder, name).unlink(missing_ok=True)
                    removed += 1
        return removed


class FsspecTree:
    """Outputs under an fsspec URL (``s3://…``, ``gs://…``, ``file://…``)."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError:
            raise BatchError(f"writing to {url} needs fsspec (and its driver for that scheme): "
                             "pip install fsspec s3fs") from None
        self.url = url.rstrip("/")
        self.fs: Any
        self.fs, self.base = fsspec.core.url_to_fs(self.url)

    def _full(self, relative: str) -> str:
        return f"{self.base.rstrip('/')}/{relative}"

    def write_atomic(self, relative: str, text: str) -> int:
        target = self._full(relative)
        folder, _, name = target.rpartition("/")
        temporary = f"{folder}/{_partial_name(name)}"
        data = text.encode("utf-8")
        self.fs.makedirs(folder, exist_ok=True)
        try:
            with self.fs.open(temporary, "wb") as file:
                file.write(data)
            self.fs.mv(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm(temporary)
            raise
        return len(data)

    def size(self, relative: str) -> int | None:
        try:
            return int(self.fs.size(self._full(relative)))
        except (OSError, FileNotFoundError):
            return None

    def remove_partials(self) -> int:
        try:
            names = self.fs.find(self.base)
        except (OSError, FileNotFoundError):
            return 0
        partials = [name for name in names if _is_partial(name.rpartition("/")[2])]
        for name in partials:
            self.fs.rm(name)
        return len(partials)


OutputTree = LocalTree | FsspecTree


def open_tree(root: str | os.PathLike[str]) -> OutputTree:
    root = os.fspath(root)
    return FsspecTree(root) if is_url(root) else LocalTree(root)


def outputs_complete(tree: OutputTree, wanted: Sequence[str], recorded: dict[str, int]) -> bool:
    """Every wanted file was recorded as written and is there with the recorded size."""
    return all(name in recorded and tree.size(name) == recorded[name] for name in wanted)
