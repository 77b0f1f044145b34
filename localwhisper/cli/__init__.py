"""The ``localwhisper`` command: :mod:`.main` builds the parser from the sub-command modules
(:mod:`.transcribe`, :mod:`.serve`, :mod:`.models`, :mod:`.doctor`)."""

from localwhisper.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
