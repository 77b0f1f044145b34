"""``localwhisper doctor``: what this machine runs — engine build, patches, CPU variant and why."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("doctor", help="show the engine build, its patches and the CPU variant",
                                   description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report() -> dict[str, Any]:
    import whisper_native
    from whisper_native._loader import library_dir

    try:
        version = metadata.version("localwhisper")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "localwhisper": version,
        "whisper_cpp": whisper_native.version(),
        "library_dir": str(library_dir()),
        "cpu": _cpu_model(),
        "cpu_variant": whisper_native.cpu_variant_choice(),
        "build": whisper_native.build_info(),
        "system_info": whisper_native.system_info(),
    }


def run(args: argparse.Namespace) -> int:
    found = report()
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    build, variant = found["build"], found["cpu_variant"]
    lines = [
        f"localwhisper {found['localwhisper']}, whisper.cpp {found['whisper_cpp']}",
        f"libraries:    {found['library_dir']}",
        f"engine tree:  {build.get('patched_tree_sha256') or build.get('source', 'unknown')}",
        f"patches:      {len(build.get('patches', []))} applied",
        *(f"  {patch['name']}: {patch['subject']}" for patch in build.get("patches", [])),
        f"CPU:          {found['cpu']}",
    ]
    if variant is None:
        lines.append("CPU variant:  built into libggml (no run-time choice)")
    else:
        features = " ".join(name for name, value in variant["features"].items() if value == "1")
        lines += [
            f"CPU variant:  {variant['name']} (ggml score {variant['score']})",
            f"  features:   {features}",
            f"  chosen:     {variant['reason']}",
            f"  probe:      {variant['probe_seconds'] * 1000:.0f} ms"
            + (" (cached verdict, nothing probed at this start)" if variant["cached"] else ""),
            *(f"  rejected:   {r['name']}: {r['why']}" for r in variant["rejected"]),
        ]
    lines.append(f"system info:  {found['system_info']}")
    print("\n".join(lines))
    return 0
