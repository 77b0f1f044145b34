"""``/v1/models``: OpenAI's list/retrieve, plus explicit load and unload.

``GET /v1/models`` lists every configured model whose weights are present, one entry per
name and alias (``?all=true`` also lists configured models not yet downloaded). Entries
have OpenAI's keys (``id``, ``object``, ``created``, ``owned_by``) and three extras:
``model`` (the canonical name an alias points to), ``present`` and ``loaded``.
``POST /v1/models/{id}/load`` loads a model now; ``POST /v1/models/{id}/unload`` frees it
(in-flight transcriptions finish first). Unknown ids are 404 ``model_not_found``.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from localwhisper.models.config import ModelConfig

from .services import Services, services_of

OWNED_BY = "localwhisper"


def _created(config: ModelConfig) -> int:
    try:
        return int(config.config_path.stat().st_mtime) if config.config_path else 0
    except OSError:
        return 0


def _entry(services: Services, config: ModelConfig, name: str, loaded: set[str]) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _created(config), "owned_by": OWNED_BY,
            "model": config.name, "present": services.registry.is_present(config),
            "loaded": config.name in loaded}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


async def list_models(request: Request) -> JSONResponse:
    services = services_of(request)
    include_absent = _truthy(request.query_params.get("all"))
    loaded = set(services.registry.loaded())
    data = [_entry(services, config, name, loaded)
            for config in services.registry.configs()
            if include_absent or services.registry.is_present(config)
            for name in config.names]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> JSONResponse:
    services = services_of(request)
    name = request.path_params["model_id"]
    config = services.registry.resolve(name)
    return JSONResponse(_entry(services, config, name, set(services.registry.loaded())))


async def load_model(request: Request) -> JSONResponse:
    services = services_of(request)
    name = request.path_params["model_id"]
    request.state.model = name
    model = await services.runner.model(name)
    return JSONResponse({"id": name, "object": "model", "model": model.name, "loaded": True,
                         "load_seconds": round(model.load_seconds, 3)})


async def unload_model(request: Request) -> JSONResponse:
    services = services_of(request)
    name = request.path_params["model_id"]
    request.state.model = name
    config = services.registry.resolve(name)
    was_loaded = await anyio.to_thread.run_sync(services.registry.unload, config.name)
    return JSONResponse({"id": name, "object": "model", "model": config.name, "loaded": False,
                         "unloaded": was_loaded})


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}/load", load_model, methods=["POST"]),
    Route("/v1/models/{model_id:path}/unload", unload_model, methods=["POST"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
]
