"""``localwhisper serve``: run the OpenAI-compatible server with uvicorn.

Every flag mirrors a setting of :mod:`localwhisper.server.settings` (which documents the
``LOCALWHISPER_*`` environment variables in one table); a flag wins over its variable.
Before serving, the default models are fetched if missing (``--no-ensure-models`` skips
it). SIGINT/SIGTERM stop accepting connections, let in-flight requests finish for up to
``--shutdown-timeout-s`` seconds, then abort what is left and free the models.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any

from localwhisper.errors import LocalWhisperError
from localwhisper.server.settings import ServerSettings, add_arguments

logger = logging.getLogger("localwhisper.server")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# a realtime append may carry 15 MiB of audio, 20 MiB once base64-encoded (uvicorn's default: 16 MiB)
WS_MAX_MESSAGE_BYTES = 32 * 1024 * 1024


def configure_logging(level: str) -> None:
    from localwhisper.server.middleware import RequestIdFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def ensure_models(settings: ServerSettings) -> None:
    """Fetch the default models when the hub offers it (skipped with ``--no-ensure-models``)."""
    from localwhisper.models import hub

    ensure = getattr(hub, "ensure_default_models", None)
    if ensure is None or not settings.ensure_models:
        return
    paths = ensure(settings.models_dir, progress=sys.stderr.isatty())
    present = ", ".join(f"{name}={path.name}" for name, path in paths.items())
    logger.info("default models present: %s", present)


def serve(settings: ServerSettings) -> int:
    import uvicorn

    from localwhisper.resources import available_cores
    from localwhisper.server import create_app
    from localwhisper.server.memory import MIB, resolve_budget, tune_allocator

    tuned = tune_allocator()  # before the first large allocation
    budget = resolve_budget(settings.max_memory)
    logger.info("memory budget %s, %d cores, allocator %s",
                f"{budget // MIB} MiB" if budget else "off", available_cores(),
                "tuned (2 arenas, 4 MiB mmap threshold)" if tuned else "default")
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, log_level=settings.log_level,
        access_log=False,  # our middleware writes one structured line per request
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_s), lifespan="on",
        server_header=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def run(args: argparse.Namespace) -> int:
    try:
        settings = ServerSettings.from_args(args)
        settings.all_api_keys()  # an unreadable key file fails now, not on the first request
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        from localwhisper.device import resolve_device

        logger.info("%s", resolve_device(settings.device).describe())
    except LocalWhisperError as exc:
        logger.error("%s", exc.message)
        return 2
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.all_api_keys():
        logger.warning("serving on %s without API keys: anyone who can reach it can use it", settings.host)
    try:
        ensure_models(settings)
    except LocalWhisperError as exc:
        logger.error("could not prepare the default models: %s", exc.message)
        return 1
    return serve(settings)


def register(subparsers: Any) -> None:
    """Add ``serve`` to the main parser's subparsers."""
    parser = subparsers.add_parser("serve", help="run the OpenAI-compatible HTTP server",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(handler=run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m localwhisper.cli.serve [flags]``: the same as ``localwhisper serve``."""
    parser = argparse.ArgumentParser(prog="localwhisper serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
