"""The OpenAI-compatible HTTP server: ``create_app(ServerSettings(...))`` returns a Starlette app.

Run it with ``localwhisper serve`` (see :mod:`localwhisper.server.settings` for every
option), or with any ASGI server::

    from localwhisper.server import ServerSettings, create_app
    app = create_app(ServerSettings(models_dir="models", preload=("tiny.en",)))
"""

from __future__ import annotations

from .app import create_app
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
