"""``localwhisper`` command line: one sub-command module per area.

    localwhisper transcribe FILE... [-m MODEL] [-f FORMAT] [-o DIR] ...
    localwhisper batch INPUT... -o OUT_DIR [-f srt,json] [--ray [ADDRESS]] ...
    localwhisper serve [--host H] [--port P] ...
    localwhisper models list|pull|import|quantize|rm|info|ensure-defaults
    localwhisper doctor [--json]
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from importlib import import_module

SUBCOMMAND_MODULES = ("transcribe", "batch", "serve", "models", "doctor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localwhisper", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default=None,
                        choices=("debug", "info", "warning", "error"),
                        help="logging level (default: warning; debug also shows whisper.cpp's own log lines)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = import_module(f"localwhisper.cli.{name}")
        except ModuleNotFoundError as exc:  # a sub-command whose module is not installed
            if exc.name != f"localwhisper.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, (args.log_level or "warning").upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
