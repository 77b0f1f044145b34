"""Prometheus metrics on a private :class:`CollectorRegistry` (one per app, so tests and
several apps in one process never clash).

=================================================  =========  ======================================
metric                                             type       labels
=================================================  =========  ======================================
``localwhisper_http_requests_total``               counter    route (template), method, status
``localwhisper_http_request_duration_seconds``     histogram  route
``localwhisper_transcriptions_total``              counter    model, task, outcome
``localwhisper_audio_seconds_total``               counter    model, task (audio duration processed)
``localwhisper_real_time_factor``                  histogram  model (processing time / audio time)
``localwhisper_transcriptions_in_flight``          gauge      model (decoding now)
``localwhisper_queue_depth``                       gauge      model (waiting for a free state)
``localwhisper_states``                            gauge      model (whisper states created)
``localwhisper_max_states``                        gauge      model
``localwhisper_models_loaded``                     gauge
=================================================  =========  ======================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from localwhisper.types import Transcription

if TYPE_CHECKING:
    from localwhisper.transcribe.engine import Model

RTF_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _PoolCollector(Collector):
    """Reads the state pools of the loaded models at scrape time."""

    def __init__(self, loaded: Callable[[], Mapping[str, Model]]) -> None:
        self._loaded = loaded

    def collect(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily("localwhisper_transcriptions_in_flight",
                                      "Transcriptions decoding now", labels=["model"])
        waiting = GaugeMetricFamily("localwhisper_queue_depth", "Requests waiting for a free state",
                                    labels=["model"])
        created = GaugeMetricFamily("localwhisper_states", "Whisper states created", labels=["model"])
        limit = GaugeMetricFamily("localwhisper_max_states", "Concurrent transcriptions allowed",
                                  labels=["model"])
        models = self._loaded()
        for name, model in sorted(models.items()):
            stats = model.stats()
            in_flight.add_metric([name], stats.in_flight)
            waiting.add_metric([name], stats.waiting)
            created.add_metric([name], stats.created)
            limit.add_metric([name], stats.max_states)
        loaded = GaugeMetricFamily("localwhisper_models_loaded", "Models loaded in memory", value=len(models))
        yield from (in_flight, waiting, created, limit, loaded)


class Metrics:
    def __init__(self, loaded_models: Callable[[], Mapping[str, Model]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("localwhisper_http_requests", "HTTP requests",
                                ["route", "method", "status"], registry=self.registry)
        self.request_seconds = Histogram("localwhisper_http_request_duration_seconds", "HTTP request latency",
                                         ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.transcriptions = Counter("localwhisper_transcriptions", "Transcriptions by outcome",
                                      ["model", "task", "outcome"], registry=self.registry)
        self.audio_seconds = Counter("localwhisper_audio_seconds", "Seconds of audio transcribed",
                                     ["model", "task"], registry=self.registry)
        self.real_time_factor = Histogram("localwhisper_real_time_factor", "Processing time / audio duration",
                                          ["model"], buckets=RTF_BUCKETS, registry=self.registry)
        self.registry.register(_PoolCollector(loaded_models))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def observe_transcription(self, model: str, task: str, result: Transcription) -> None:
        self.transcriptions.labels(model, task, "ok").inc()
        duration_s = result.info.duration_ms / 1000
        self.audio_seconds.labels(model, task).inc(duration_s)
        if duration_s > 0:
            self.real_time_factor.labels(model).observe(result.info.processing_ms / 1000 / duration_s)

    def observe_failure(self, model: str, task: str, outcome: str) -> None:
        self.transcriptions.labels(model, task, outcome).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
