"""Build the short-clip accuracy set from registry packages (catalog.py says which).

    .venv/bin/python bench/clips/fetch_clips.py [--force]

Downloads the pinned archives (Debian's asterisk-core-sounds prompt lists and
G.722 recordings in five languages, Debian's fillets-ng-data dialog scripts with
the Czech and Dutch voice packages, PyPI's pocketsphinx sdist with its LibriVox
and Sphinx test recordings) into ``.cache/clips/archives``, checks each sha256,
converts the chosen clips to 16 kHz mono 16-bit WAV under ``.cache/clips/wav``
and writes ``.cache/clips/manifest.json``. With the archives cached it reads no
network; if a download cannot be made it says so and exits with status 2.
Needs PyAV and numpy (the project venv) for the decoding; the rest is stdlib.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.error
import urllib.request
import wave
from collections import defaultdict
from pathlib import Path
from typing import Any

from catalog import ARCHIVES, CLIPS, Archive, Clip, TextRef

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "clips"  # archives/, wav/, manifest.json (paths in it are relative to it)
RATE = 16000
TIMEOUT_S = 8.0
MIN_MS, MAX_MS = 2000, 30000
EXIT_NETWORK = 2
FORMAT = 2  # bump when the manifest's fields change, so a cached one is rebuilt


class NetworkUnavailable(Exception):
    pass


class BadArchive(Exception):
    pass


# --- archives ------------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_archive(archive: Archive, folder: Path) -> Path:
    """The verified archive in ``folder``, downloaded first when it is not there."""
    path = folder / archive.filename
    if path.is_file() and path.stat().st_size == archive.size and sha256_of(path) == archive.sha256:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    errors = []
    for url in archive.urls:
        try:
            _download(url, part)
            break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    else:
        part.unlink(missing_ok=True)
        raise NetworkUnavailable(f"cannot download {archive.registry} package {archive.package} "
                                 f"{archive.version}:\n  " + "\n  ".join(errors))
    got = sha256_of(part)
    if got != archive.sha256:
        part.unlink()
        raise BadArchive(f"{archive.filename}: sha256 {got}, expected {archive.sha256}")
    part.replace(path)
    return path


def _download(url: str, target: Path) -> None:
    print(f"  downloading {url}", file=sys.stderr)
    request = urllib.request.Request(url, headers={"User-Agent": "localwhisper-bench-clips"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, target.open("wb") as out:
        for block in iter(lambda: response.read(1 << 20), b""):
            out.write(block)


def read_members(path: Path, wanted: set[str]) -> dict[str, bytes]:
    """The wanted members (paths without a leading "./") of a .deb or .tar.gz, in one pass."""
    source = io.BytesIO(_deb_data(path)) if path.name.endswith(".deb") else io.BytesIO(path.read_bytes())
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=source, mode="r:*") as tar:
        for info in tar:
            name = info.name.removeprefix("./")
            if name in wanted and info.isfile():
                fh = tar.extractfile(info)
                assert fh is not None  # isfile() members always have data
                found[name] = fh.read()
    missing = wanted - found.keys()
    if missing:
        raise BadArchive(f"{path.name} lacks {sorted(missing)}")
    return found


def _deb_data(path: Path) -> bytes:
    """The data.tar.* member of a Debian package (an ar archive)."""
    blob = path.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise BadArchive(f"{path.name} is not an ar archive")
    pos = 8
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if name.startswith("data.tar"):
            return blob[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
    raise BadArchive(f"{path.name} has no data.tar member")


# --- reference texts -----------------------------------------------------------------------------
def reference_text(ref: TextRef, data: bytes) -> str:
    if ref.kind == "prompt":
        text = _prompt(gzip.decompress(data).decode("utf-8-sig"), ref.key)
    elif ref.kind == "dialog":
        text = _dialog(data.decode("utf-8"), ref.key)
    elif ref.kind == "file":
        text = data.decode("utf-8")
    elif ref.kind == "quote":
        if ref.key not in data.decode("utf-8"):
            raise BadArchive(f"{ref.member} does not contain {ref.key!r}")
        text = ref.key
    else:
        raise ValueError(f"unknown text kind {ref.kind!r}")
    return " ".join(text.split())


def _prompt(listing: str, name: str) -> str:
    texts = [line.split(":", 1)[1] for line in listing.splitlines()
             if not line.startswith(";") and line.split(":", 1)[0].strip() == name]
    if len(texts) != 1:
        raise BadArchive(f"prompt {name!r} appears {len(texts)} times in the list")
    return texts[0]


def _dialog(script: str, dialog: str) -> str:
    match = re.search(rf'dialogId\("{re.escape(dialog)}",[^\n]*\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)', script)
    if match is None:
        raise BadArchive(f"dialog {dialog!r} not in the script")
    return match.group(1).replace('\\"', '"')


# --- audio ---------------------------------------------------------------------------------------
def to_pcm16k(member: str, data: bytes) -> bytes:
    """16 kHz mono signed 16-bit little-endian PCM of one recording."""
    if member.endswith(".raw"):  # Sphinx test audio: headerless 16 kHz mono s16le
        return data[: len(data) // 2 * 2]
    try:
        import av
        import numpy as np
    except ImportError as exc:
        raise SystemExit(f"decoding needs PyAV and numpy (run with the project venv): {exc}") from exc
    fmt = "g722" if member.endswith(".g722") else None
    chunks = []
    with av.open(io.BytesIO(data), format=fmt) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in container.decode(stream):
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(chunks).astype("<i2").tobytes()


def write_wav(path: Path, pcm: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    tmp.replace(path)


# --- the set -------------------------------------------------------------------------------------
def catalog_digest() -> str:
    text = repr((FORMAT, sorted(ARCHIVES.items()), CLIPS))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(cache: Path, force: bool = False) -> dict[str, Any]:
    """The manifest, made anew unless the one in ``cache`` matches the catalog and has its files."""
    manifest_path = cache / "manifest.json"
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("catalog") == catalog_digest() and all(
                (cache / c["path"]).is_file() for c in manifest["clips"]):
            return manifest
    wanted: dict[str, set[str]] = defaultdict(set)
    for clip in CLIPS:
        wanted[clip.archive].add(clip.member)
        wanted[clip.text.archive].add(clip.text.member)
    paths = {key: ensure_archive(ARCHIVES[key], cache / "archives") for key in sorted(wanted)}
    members = {key: read_members(paths[key], names) for key, names in wanted.items()}
    (cache / "wav").mkdir(parents=True, exist_ok=True)
    entries = [_entry(clip, members, cache) for clip in CLIPS]
    kept = {cache / entry["path"] for entry in entries}
    for stale in set((cache / "wav").glob("*.wav")) - kept:  # clips the catalog no longer names
        stale.unlink()
    manifest = {"catalog": catalog_digest(), "sample_rate": RATE, "clips": entries}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def _entry(clip: Clip, members: dict[str, dict[str, bytes]], cache: Path) -> dict[str, Any]:
    archive = ARCHIVES[clip.archive]
    text_archive = ARCHIVES[clip.text.archive]
    data = members[clip.archive][clip.member]
    pcm = to_pcm16k(clip.member, data)
    duration_ms = len(pcm) // 2 * 1000 // RATE
    if not MIN_MS <= duration_ms <= MAX_MS:
        raise BadArchive(f"{clip.id}: {duration_ms} ms is outside {MIN_MS}-{MAX_MS} ms")
    write_wav(cache / "wav" / f"{clip.id}.wav", pcm)
    return {
        "id": clip.id,
        "language": clip.language,
        "path": f"wav/{clip.id}.wav",
        "reference": reference_text(clip.text, members[clip.text.archive][clip.text.member]),
        "duration_ms": duration_ms,
        "source": {"registry": archive.registry, "package": archive.package, "version": archive.version,
                   "archive": archive.filename, "archive_sha256": archive.sha256, "member": clip.member,
                   "member_sha256": hashlib.sha256(data).hexdigest()},
        "reference_source": {"package": text_archive.package, "version": text_archive.version,
                             "member": clip.text.member, "kind": clip.text.kind},
        "license": archive.license,
        "license_source": f"{archive.filename}: {archive.license_source}",
        "speaker": clip.speaker or archive.speaker,
        "note": clip.note,
    }


def load_clips(cache: Path = CACHE) -> list[dict[str, Any]]:
    """The manifest's clips with ``path`` made absolute (built first when needed), for a benchmark."""
    clips = build(cache)["clips"]
    return [{**clip, "path": str(cache / clip["path"])} for clip in clips]


def summary(manifest: dict[str, Any], where: Path) -> str:
    per_lang: dict[str, list[int]] = defaultdict(list)
    for clip in manifest["clips"]:
        per_lang[clip["language"]].append(clip["duration_ms"])
    lines = [f"{lang}: {len(ms):2d} clips, {sum(ms) / 1000:6.1f} s" for lang, ms in sorted(per_lang.items())]
    total = sum(sum(ms) for ms in per_lang.values())
    lines.append(f"all: {len(manifest['clips']):2d} clips, {total / 1000:6.1f} s -> {where}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="convert again even if the manifest is current")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"cache folder (default {CACHE})")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.cache, args.force)
    except NetworkUnavailable as exc:
        print(f"fetch_clips: {exc}\nThe clip set needs PyPI and Debian's archive once; "
              f"after that it is built from {args.cache / 'archives'} offline.", file=sys.stderr)
        return EXIT_NETWORK
    except BadArchive as exc:
        print(f"fetch_clips: {exc}", file=sys.stderr)
        return 1
    print(summary(manifest, args.cache / "manifest.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
