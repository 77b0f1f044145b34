"""``localwhisper doctor``: what this machine runs — engine build, patches, CPU variant and why, GPUs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
from importlib import metadata
from typing import Any

from localwhisper.models.weights import machine_quant


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


def _device_report() -> dict[str, Any]:
    """Backends and devices ggml registered, and what the device setting resolves to."""
    import whisper_native
    from localwhisper.device import DEVICE_ENV, resolve_device
    from localwhisper.errors import LocalWhisperError
    from whisper_native._loader import gpu_backend_notes

    setting = os.environ.get(DEVICE_ENV, "auto")
    try:
        plan = resolve_device(setting)
        chosen: dict[str, Any] = {"setting": setting, "use_gpu": plan.use_gpu, "gpu_device": plan.gpu_device,
                                  "backend": plan.device.name if plan.device else "CPU",
                                  "summary": plan.describe()}
    except (LocalWhisperError, ValueError) as exc:
        chosen = {"setting": setting, "error": str(exc)}
    return {"backends": whisper_native.backends(),
            "devices": [dataclasses.asdict(d) for d in whisper_native.list_devices()],
            "gpu_notes": gpu_backend_notes(), "device": chosen}


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
        "faster_weights": machine_quant(),  # models.weights: the quantisation this CPU runs faster
        **_device_report(),
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
            f"  weights:    {' '.join(variant.get('buffers', []))} (buffer types that passed the probe)"
            + (f"; f16 models run their {quant} copy" if (quant := found["faster_weights"]) else ""),
            f"  chosen:     {variant['reason']}",
            f"  probe:      {variant['probe_seconds'] * 1000:.0f} ms"
            + (" (cached verdict, nothing probed at this start)" if variant["cached"] else ""),
            *(f"  rejected:   {r['name']}: {r['why']}" for r in variant["rejected"]),
        ]
    registered = ", ".join(f"{name} ({count} devices)" for name, count in found["backends"].items())
    lines.append(f"backends:     {registered}")
    for device in found["devices"]:
        memory = f", {device['memory_total'] / 2**30:.1f} GiB" if device["kind"] != "cpu" else ""
        lines.append(f"  {device['name']}: {device['description']} [{device['kind']}{memory}]")
    lines += [f"  note:       {note}" for note in found["gpu_notes"]]
    device = found["device"]
    lines.append(f"device:       {device.get('summary') or 'error: ' + device['error']}")
    lines.append(f"system info:  {found['system_info']}")
    print("\n".join(lines))
    return 0
