"""Our numbered patch series on the pinned engine source: list, apply, digest.

A patch is a unified diff (``diff -u`` or ``git diff``, paths ``a/...`` and
``b/...``) after a header of ``Key: value`` lines (From, Subject, What, Why,
Upstream, Test). Patches apply in file-name order, exactly: every hunk's
context must match at its stated line, with no fuzz and no offset. Anything
else is a :class:`PatchError` that names the patch and the hunk. Standard
library only, so the fetch step needs neither git nor patch(1).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(RuntimeError):
    pass


def series(patch_dir: Path) -> list[dict[str, str]]:
    """The patches in ``patch_dir``, in order: name, sha256, subject."""
    found = []
    for path in sorted(patch_dir.glob("[0-9][0-9][0-9][0-9]-*.patch")):
        text = path.read_bytes()
        subject = next((line[len("Subject:"):].strip() for line in text.decode().splitlines()
                        if line.startswith("Subject:")), "")
        found.append({"name": path.name, "path": str(path),
                      "sha256": hashlib.sha256(text).hexdigest(), "subject": subject})
    return found


def _read(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as source:
        return source.read()


def _file_diffs(text: str, name: str) -> list[tuple[str, list[tuple[int, list[str]]]]]:
    """[(relative path, [(old start line, hunk lines)])] of one patch."""
    lines = text.splitlines(keepends=True)
    diffs: list[tuple[str, list[tuple[int, list[str]]]]] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            target = lines[i + 1][4:].strip().split("\t")[0]
            if not target.startswith("b/") or ".." in Path(target[2:]).parts:
                raise PatchError(f"{name}: unsupported target path {target!r}")
            diffs.append((target[2:], []))
            i += 2
            continue
        match = HUNK_HEADER.match(lines[i])
        if match:
            if not diffs:
                raise PatchError(f"{name}: hunk before any file header")
            old_count = int(match.group(2) or 1)
            new_count = int(match.group(4) or 1)
            body: list[str] = []
            i += 1
            while (old_count > 0 or new_count > 0) and i < len(lines):
                line = lines[i]
                tag = line[:1]
                if tag in (" ", "\n"):
                    old_count -= 1
                    new_count -= 1
                elif tag == "-":
                    old_count -= 1
                elif tag == "+":
                    new_count -= 1
                elif not line.startswith("\\"):
                    raise PatchError(f"{name}: malformed hunk line {line!r}")
                body.append(line if tag != "\n" else " \n")
                i += 1
            if old_count or new_count:
                raise PatchError(f"{name}: truncated hunk at line {match.group(1)} of {diffs[-1][0]}")
            diffs[-1][1].append((int(match.group(1)), body))
            continue
        i += 1
    if not diffs:
        raise PatchError(f"{name}: holds no unified diff")
    return diffs


def _apply_hunks(source: list[str], hunks: list[tuple[int, list[str]]], where: str) -> list[str]:
    result: list[str] = []
    cursor = 0
    for number, (start, body) in enumerate(hunks, 1):
        old = [line[1:] for line in body if line[:1] in (" ", "-")]
        new = [line[1:] for line in body if line[:1] in (" ", "+")]
        at = start - 1 if old else start
        if at < cursor or source[at:at + len(old)] != old:
            raise PatchError(f"{where}: hunk {number} (line {start}) does not apply")
        result.extend(source[cursor:at])
        result.extend(new)
        cursor = at + len(old)
    result.extend(source[cursor:])
    return result


def apply_series(tree: Path, patches: list[dict[str, str]]) -> None:
    """Apply each patch in order to ``tree``; all files of one patch or none."""
    for patch in patches:
        name = patch["name"]
        text = _read(Path(patch["path"]))
        updated: dict[Path, list[str]] = {}
        for relative, hunks in _file_diffs(text, name):
            path = tree / relative
            if not path.is_file():
                raise PatchError(f"{name}: {relative} is not in the source tree")
            source = updated.get(path) or _read(path).splitlines(keepends=True)
            updated[path] = _apply_hunks(source, hunks, f"{name}: {relative}")
        for path, content in updated.items():
            with path.open("w", encoding="utf-8", newline="") as sink:
                sink.write("".join(content))


def tree_digest(tree: Path, exclude: set[str] = frozenset()) -> str:
    """sha256 over every file's relative path and sha256, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        relative = path.relative_to(tree).as_posix()
        if relative in exclude:
            continue
        digest.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()
