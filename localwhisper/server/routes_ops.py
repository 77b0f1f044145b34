"""Operations and the web page: ``GET /health``, ``GET /ready``, ``GET /metrics``, ``GET /``
and its scripts under ``GET /static/``.

``/health`` is liveness (200 while the process serves). ``/ready`` is 200 once at least
one model is loaded (preload one with ``--preload`` for orchestrators), else 503.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from localwhisper.errors import NotFound

from .services import services_of


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    loaded = sorted(services_of(request).registry.loaded())
    if loaded:
        return JSONResponse({"status": "ready", "models": loaded})
    return JSONResponse({"status": "not ready", "models": [], "reason": "no model is loaded yet"},
                        status_code=503)


async def metrics(request: Request) -> Response:
    body, media_type = services_of(request).metrics.render()
    return Response(body, media_type=media_type)


# the page's scripts (the audio worklet among them): a fixed list, never a path from the request
STATIC_FILES = {"page.js": "text/javascript", "live.js": "text/javascript",
                "pcm16-worklet.js": "text/javascript"}


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(_static("index.html"), headers={"Cache-Control": "no-cache"})


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"No static file {name!r}.")
    return Response(_static(name), media_type=media_type, headers={"Cache-Control": "no-cache"})


OPEN_PATHS = ("/", "/health", "/ready", *(f"/static/{name}" for name in STATIC_FILES))
ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/static/{name}", static_file, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
