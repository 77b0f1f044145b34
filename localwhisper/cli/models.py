"""``localwhisper models list | pull | import | quantize | rm | info | ensure-defaults``.

Every sub-command sets ``handler(args) -> int`` on the parsed namespace; a
:class:`~localwhisper.errors.LocalWhisperError` becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localwhisper.errors import LocalWhisperError
from localwhisper.models import hub
from localwhisper.models.config import UrlSource, default_models_dir
from localwhisper.models.hub.sources import builtin_sources

Handler = Callable[[argparse.Namespace], int]
_MODEL_TYPES = {4: "tiny", 6: "base", 12: "small", 24: "medium", 32: "large"}


def _guarded(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LocalWhisperError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return run


def _models_dir(args: argparse.Namespace) -> Path:
    return getattr(args, "models_dir", None) or default_models_dir()


def _size(n_bytes: int | None) -> str:
    return "-" if n_bytes is None else f"{n_bytes / 2**20:.1f} MiB"


def _list(args: argparse.Namespace) -> int:
    infos = hub.list_models(_models_dir(args))
    rows = [("NAME", "FILE", "SIZE", "LANGUAGE", "QUANT", "PRESENT")]
    for item in infos:
        names = item.config.name + (f" ({', '.join(item.config.aliases)})" if item.config.aliases else "")
        present = "invalid" if item.problem else ("yes" if item.present else "no")
        rows.append((names, item.config.model_file, _size(item.size), item.language, item.quantisation,
                     present))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _pull(args: argparse.Namespace) -> int:
    path = hub.pull(args.name, _models_dir(args), progress=not args.quiet, force=args.force)
    print(f"{args.name}: {path} ({_size(path.stat().st_size)})")
    return 0


def _ensure_defaults(args: argparse.Namespace) -> int:
    for name, path in hub.ensure_default_models(_models_dir(args), progress=not args.quiet).items():
        print(f"{name}: {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    config = hub.import_model(args.path, args.name, _models_dir(args), description=args.description)
    print(f"imported {config.name}: {config.model_file}, config {config.config_path}")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    config = hub.quantize(args.name, args.qtype, _models_dir(args))
    path = config.resolve_path(_models_dir(args))
    print(f"{config.name}: {path} ({_size(path.stat().st_size)}), config {config.config_path}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    for path in hub.remove(args.name, _models_dir(args), delete_config=args.config):
        print(f"removed {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    item = hub.info(args.name, _models_dir(args))
    config = item.config
    fields: dict[str, Any] = {
        "name": config.name, "aliases": ", ".join(config.aliases) or "-",
        "description": config.description or "-",
        "config": config.config_path, "file": item.path, "present": "yes" if item.present else "no",
        "size": _size(item.size), "language": item.language, "quantisation": item.quantisation,
        "default language": config.language or "auto",
        "vad": "default" if config.vad is None else config.vad, "threads": config.threads or "auto",
        "options": dict(config.options) or "-",
    }
    if item.header is not None:
        hparams = item.header.hparams
        fields["architecture"] = (
            f"{_MODEL_TYPES.get(hparams.n_audio_layer, '?')}: n_vocab {hparams.n_vocab}, "
            f"state {hparams.n_audio_state}, layers {hparams.n_audio_layer}/{hparams.n_text_layer}, "
            f"heads {hparams.n_audio_head}, mels {hparams.n_mels}")
    if item.problem:
        fields["problem"] = item.problem
    sources = [*config.sources, *builtin_sources(config.model_file)]
    fields["sources"] = "; ".join(
        s.url if isinstance(s, UrlSource) else "pip: " + ", ".join(s.requirements) for s in sources) or "-"
    for key, value in fields.items():
        print(f"{key + ':':<18}{value}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``models`` and its sub-commands to the main parser's subparsers."""
    parser = subparsers.add_parser("models", help="list, pull, import, quantize, remove models")
    parser.add_argument("--models-dir", type=Path, default=argparse.SUPPRESS,
                        help="models directory (default: $LOCALWHISPER_MODELS_DIR or ./models)")
    commands = parser.add_subparsers(dest="models_command", required=True, metavar="COMMAND")

    commands.add_parser("list", help="configured models and whether their weights are present"
                        ).set_defaults(handler=_guarded(_list))
    pull = commands.add_parser("pull", help="download (or convert) a model's weights")
    pull.add_argument("name")
    pull.add_argument("--force", action="store_true", help="fetch again even if present")
    pull.add_argument("--quiet", action="store_true", help="no progress bar")
    pull.set_defaults(handler=_guarded(_pull))
    imp = commands.add_parser("import", help="add a CTranslate2 directory or a ggml .bin as a new model")
    imp.add_argument("path", type=Path)
    imp.add_argument("--name", required=True)
    imp.add_argument("--description")
    imp.set_defaults(handler=_guarded(_import))
    quant = commands.add_parser("quantize", help="write a quantised copy as <name>-<qtype>")
    quant.add_argument("name")
    quant.add_argument("qtype", choices=hub.QUANT_TYPES)
    quant.set_defaults(handler=_guarded(_quantize))
    remove = commands.add_parser("rm", help="delete a model's weights")
    remove.add_argument("name")
    remove.add_argument("--config", action="store_true", help="also delete its YAML config")
    remove.set_defaults(handler=_guarded(_remove))
    defaults = commands.add_parser("ensure-defaults", help="whisper-1 (base), tiny.en and the VAD model")
    defaults.add_argument("--quiet", action="store_true", help="no progress bar")
    defaults.set_defaults(handler=_guarded(_ensure_defaults))
    info = commands.add_parser("info", help="details of one model")
    info.add_argument("name")
    info.set_defaults(handler=_guarded(_info))
    for command in commands.choices.values():  # also accepted after the sub-command
        command.add_argument("--models-dir", type=Path, default=argparse.SUPPRESS,
                             help="models directory (default: $LOCALWHISPER_MODELS_DIR or ./models)")
