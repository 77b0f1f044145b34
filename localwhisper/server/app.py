"""``create_app(settings) -> Starlette``: routes, middleware, error handlers, lifespan.

Middleware, outermost first: request id + access log + metrics, CORS (when origins are
configured), API keys (when keys are configured). The lifespan preloads the configured
models (one log line each, with its load time), runs the idle-unload task, and on
shutdown aborts whatever transcriptions are still running before freeing the models.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from localwhisper.audio import AudioLimits
from localwhisper.models.registry import EngineSettings, ModelRegistry

from . import realtime, routes_audio, routes_models, routes_ops
from .errors import EXCEPTION_HANDLERS
from .jobs import JobRunner
from .memory import MemoryBudget, resolve_budget
from .metrics import Metrics
from .middleware import ApiKeyMiddleware, RequestContextMiddleware
from .services import Services
from .settings import ServerSettings

logger = logging.getLogger("localwhisper.server")
SHUTDOWN_ABORT_WAIT_S = 10.0


def build_services(settings: ServerSettings) -> Services:
    engine = EngineSettings(
        n_states=settings.n_states, n_threads=settings.n_threads, max_queue=settings.max_queue,
        device=settings.device, audio_limits=AudioLimits(max_duration_s=settings.max_audio_s,
                                 max_input_bytes=settings.max_upload_bytes))
    registry = ModelRegistry(settings.models_dir, engine)
    metrics = Metrics(registry.loaded)
    # room for every request a model's queue admits (it answers 503 beyond that), for a few models
    budget = MemoryBudget(resolve_budget(settings.max_memory))
    runner = JobRunner(registry, metrics, request_timeout_s=settings.request_timeout_s,
                       max_threads=4 * (settings.max_queue + (settings.n_states or 4)), budget=budget)
    return Services(settings=settings, registry=registry, metrics=metrics, runner=runner)


def create_app(settings: ServerSettings | None = None) -> Starlette:
    settings = settings or ServerSettings.from_env()
    services = build_services(settings)
    middleware = [Middleware(RequestContextMiddleware, metrics=services.metrics)]
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"]))
    keys = settings.all_api_keys()
    if keys:
        middleware.append(Middleware(ApiKeyMiddleware, keys=keys, open_paths=routes_ops.OPEN_PATHS))
    app = Starlette(
        routes=[*routes_ops.ROUTES, *routes_models.ROUTES, *routes_audio.ROUTES, *realtime.ROUTES],
        middleware=middleware, exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=partial(_lifespan, services))
    app.state.services = services
    app.state.realtime = realtime.realtime_counters(services.metrics.registry)
    return app


@asynccontextmanager
async def _lifespan(services: Services, app: Starlette) -> AsyncIterator[None]:
    await _preload(services)
    async with anyio.create_task_group() as group:
        if services.settings.idle_unload_s > 0:
            group.start_soon(_unload_idle_models, services)
        try:
            yield
        finally:
            group.cancel_scope.cancel()
    await _shutdown(services)


async def _preload(services: Services) -> None:
    for name in services.settings.preload:
        started = time.perf_counter()
        model = await services.runner.model(name)
        logger.info("preloaded model %s (%s) in %.2f s", name, model.model_path.name,
                    time.perf_counter() - started)


async def _unload_idle_models(services: Services) -> None:
    ttl = services.settings.idle_unload_s
    interval = min(60.0, max(0.5, ttl / 4))
    while True:
        await anyio.sleep(interval)
        for name in await anyio.to_thread.run_sync(services.registry.unload_idle, ttl):
            logger.info("unloaded model %s after %g s idle", name, ttl)


async def _shutdown(services: Services) -> None:
    aborted = services.runner.abort_all()
    if aborted:
        logger.warning("shutdown: aborting %d transcription(s) still running", aborted)
        if not await services.runner.wait_idle(SHUTDOWN_ABORT_WAIT_S):
            # freeing the models under a running native call would crash: leave them to the OS
            logger.error("shutdown: %d transcription(s) did not stop in time", services.runner.active)
            return
    await anyio.to_thread.run_sync(services.registry.close)
    logger.info("shutdown complete")
