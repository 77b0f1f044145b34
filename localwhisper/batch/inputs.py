"""Collect a batch's inputs: files, directories (recursively) and ``@list.txt`` files.

A file named on the command line (or in a list) is always an input: if it is not
audio, it becomes an error line in the manifest. In a directory, a file is an input
when its extension is a known audio/video one, or when PyAV finds an audio stream in
it (a cheap header probe: recordings without an extension, or with a wrong one, are
found by content). Entries whose name starts with a dot, and the output folder when
it lies inside an input folder, are not walked.

Each input gets its place in the mirrored output tree: its path below the common
root of all inputs, without the extension (``talk.mp3`` → ``talk.srt``), or with it
where two inputs in one folder share a stem (``talk.mp3.srt`` and ``talk.wav.srt``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MEDIA_EXTENSIONS = frozenset({
    "wav", "wave", "flac", "mp3", "mp2", "ogg", "oga", "opus", "spx", "m4a", "m4b", "aac", "mp4", "m4v",
    "mov", "mkv", "mka", "webm", "wma", "wmv", "asf", "avi", "3gp", "3g2", "amr", "aif", "aiff", "aifc",
    "caf", "ac3", "eac3", "dts", "mpg", "mpeg", "ts", "mts", "m2ts", "vob", "flv", "au", "snd", "w64",
    "rf64", "ape", "wv", "tta", "mxf", "dv", "gsm"})
LIST_PREFIX = "@"


@dataclass(frozen=True)
class BatchItem:
    """One input file and where its outputs go."""

    source: str  # absolute path of the input
    key: str  # its path below the common root (posix): the manifest's ``input``
    stem: str  # the outputs' path without extension, relative to the output root (posix)
    size: int  # bytes; -1 when the file could not be read
    mtime_ns: int
    duration_ms: int | None = None  # what the container's header announces (for progress only)


@dataclass(frozen=True)
class Collected:
    items: tuple[BatchItem, ...]
    ignored: tuple[str, ...]  # files in the walked folders that are not audio or video


def expand_arguments(arguments: Iterable[str]) -> list[Path]:
    """Each argument as a path; ``@list.txt`` expands to the paths it lists.

    A list holds one path per line (blank lines and ``#`` comments skipped), relative
    to the current directory as on the command line.
    """
    expanded: list[Path] = []
    for argument in arguments:
        if argument.startswith(LIST_PREFIX) and len(argument) > 1:
            listing = Path(argument[1:]).read_text(encoding="utf-8")
            for line in listing.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    expanded.append(Path(line))
        else:
            expanded.append(Path(argument))
    return expanded


def probe_audio(path: str | os.PathLike[str]) -> tuple[bool, int | None]:
    """``(has an audio stream, header duration in ms)`` from the container header alone."""
    import av

    import localwhisper.audio.decode  # noqa: F401 - quiets libav's own logging

    try:
        with open(path, "rb") as file, av.open(file, options={"protocol_whitelist": "none"}) as container:
            audio = [stream for stream in container.streams if stream.type == "audio"]
            if not audio:
                return False, None
            if container.duration is not None:
                return True, int(container.duration) // 1000  # AV_TIME_BASE is microseconds
            stream = audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return True, int(stream.duration * stream.time_base * 1000)
            return True, None
    except Exception:  # any failure to open or parse means: not (readable) media
        return False, None


def _walk(folder: Path, skip: set[Path]) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skip)
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def _has_media_extension(path: Path) -> bool:
    return path.suffix[1:].lower() in MEDIA_EXTENSIONS


def collect_inputs(arguments: Sequence[str], *, exclude: Sequence[str | os.PathLike[str]] = ()
                   ) -> Collected:
    """The inputs named by ``arguments`` (files, folders, ``@lists``), in a stable order.

    ``exclude`` names folders not to walk (the output folder). A path that does not
    exist is still an input, so that it gets its error line.
    """
    skip = {Path(p).resolve() for p in exclude}
    found: dict[Path, int | None] = {}
    bases: list[Path] = []
    ignored: list[str] = []
    for path in expand_arguments(arguments):
        path = Path(os.path.abspath(path))
        if path.is_dir():
            bases.append(path)
            for file in _walk(path, skip):
                absolute = Path(os.path.abspath(file))
                if absolute in found:
                    continue
                is_audio, duration = probe_audio(file)
                if is_audio or _has_media_extension(file):
                    found[absolute] = duration
                else:
                    ignored.append(str(absolute))
        elif path not in found:
            bases.append(path.parent)
            found[path] = probe_audio(path)[1] if path.is_file() else None
    if not found:
        return Collected((), tuple(ignored))
    root = Path(os.path.commonpath([str(b) for b in bases]))
    return Collected(tuple(_items(found, root)), tuple(ignored))


def _items(found: dict[Path, int | None], root: Path) -> Iterator[BatchItem]:
    keys = {path: PurePosixPath(path.relative_to(root).as_posix()) for path in found}
    stems = Counter((key.parent, key.stem) for key in keys.values())
    for path, key in keys.items():
        stem = key.with_suffix("") if key.suffix else key
        if stems[(key.parent, key.stem)] > 1:  # talk.mp3 and talk.wav: keep the extensions
            stem = key
        try:
            stat = path.stat()
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
        except OSError:
            size, mtime_ns = -1, 0
        yield BatchItem(source=str(path), key=str(key), stem=str(stem), size=size, mtime_ns=mtime_ns,
                        duration_ms=found[path])
