"""Verified, resumable HTTP downloads and a terminal progress bar.

Connections time out after ``CONNECT_TIMEOUT_S`` (an offline machine fails in seconds);
once connected, reads may stall up to ``READ_TIMEOUT_S``. Data goes to ``<dest>.part``,
resumed with an HTTP Range request when one exists, and is renamed to ``<dest>`` only
after its size and checksum match; a mismatching file is deleted.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from localwhisper.errors import ModelAcquisitionError

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 20


class ProgressBar:
    """A one-line bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, *, enabled: bool = True, unit: str = "") -> None:
        self.label, self.unit = label, unit
        self.enabled = enabled and sys.stderr.isatty()
        self._shown = False

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        fraction = min(done / total, 1.0) if total > 0 else 0.0
        bar = "#" * int(fraction * 30)
        count = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if self.unit == "bytes" else f"{done}/{total}"
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {fraction:4.0%} {count} {detail[:40]:<40}")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            self._shown = False


class _ReadTimeoutAfterConnect:
    """Connect with CONNECT_TIMEOUT_S (fail fast offline), then allow slower reads."""

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock.settimeout(READ_TIMEOUT_S)


class _HTTPConnection(_ReadTimeoutAfterConnect, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ReadTimeoutAfterConnect, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


_opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, *, sha1: str | None = None, sha256: str | None = None,
                size: int | None = None) -> None:
    """Raise (and delete ``path``) when its size or checksum is not the expected one."""
    problems = []
    if size is not None and (actual := path.stat().st_size) != size:
        problems.append(f"size {actual} bytes, expected {size}")
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256)):
        if expected and not problems and (actual_hex := file_digest(path, algorithm)) != expected.lower():
            problems.append(f"{algorithm} {actual_hex}, expected {expected}")
    if problems:
        path.unlink(missing_ok=True)
        raise ModelAcquisitionError(f"{path.name}: verification failed ({'; '.join(problems)}); file removed")


def _open(url: str, offset: int) -> http.client.HTTPResponse | None:
    """The response for ``url`` from byte ``offset``; None when the server says it is all there."""
    headers = {"User-Agent": "localwhisper", **({"Range": f"bytes={offset}-"} if offset else {})}
    try:
        return _opener.open(urllib.request.Request(url, headers=headers), timeout=CONNECT_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # Range Not Satisfiable: the .part is already complete
            return None
        raise ModelAcquisitionError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelAcquisitionError(f"cannot reach {url} ({reason}); is this machine offline?") from exc


def download_verified(url: str, dest: Path, *, sha1: str | None = None, sha256: str | None = None,
                      size: int | None = None, progress: bool = True) -> Path:
    """Stream ``url`` to ``dest.part`` (resuming it with HTTP Range), verify, rename to ``dest``."""
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    response = _open(url, offset)
    if response is not None:
        with response:
            if offset and response.status != 206:
                offset = 0  # the server ignored Range: start over
            elif offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                part.unlink()
                raise ModelAcquisitionError(f"{url}: the server resumed at the wrong offset; run again")
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length else (size or 0)
            bar = ProgressBar(f"downloading {dest.name}", enabled=progress, unit="bytes")
            done, problem = offset, ""
            try:
                with part.open("ab" if offset else "wb") as out:
                    while block := response.read(CHUNK_BYTES):
                        out.write(block)
                        done += len(block)
                        bar(done, total)
            except (OSError, http.client.HTTPException) as exc:
                problem = repr(exc)
            finally:
                bar.close()
            if problem or (length and done < total):  # read() returns b"" on a dropped connection
                raise ModelAcquisitionError(f"download of {url} interrupted at {done} of {total} bytes "
                                            f"({problem or 'connection closed'}); run again to resume")
    verify_file(part, sha1=sha1, sha256=sha256, size=size)
    os.replace(part, dest)
    return dest
