"""What the routes share: settings, the model registry, the job runner and the metrics."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from localwhisper.models.registry import ModelRegistry

from .jobs import JobRunner
from .metrics import Metrics
from .settings import ServerSettings


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    registry: ModelRegistry
    metrics: Metrics
    runner: JobRunner


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services
