"""What the realtime sessions of one server hold, counted, and shown on ``/metrics``.

=============================================  =====  ============================================
metric                                         type   meaning
=============================================  =====  ============================================
``localwhisper_realtime_sessions``             gauge  WebSocket sessions open now
``localwhisper_realtime_items_pending``        gauge  committed turns not yet completed or failed
``localwhisper_realtime_transcribing``         gauge  turns in the job runner now
=============================================  =====  ============================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass
class Counters:
    sessions: int = 0
    items_pending: int = 0
    transcribing: int = 0


class _Collector(Collector):
    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        counters = self._counters
        yield GaugeMetricFamily("localwhisper_realtime_sessions", "Realtime sessions open",
                                value=counters.sessions)
        yield GaugeMetricFamily("localwhisper_realtime_items_pending",
                                "Committed realtime turns not yet transcribed", value=counters.items_pending)
        yield GaugeMetricFamily("localwhisper_realtime_transcribing", "Realtime turns being transcribed",
                                value=counters.transcribing)


def realtime_counters(registry: CollectorRegistry) -> Counters:
    """Fresh counters, registered for scraping on ``registry``."""
    counters = Counters()
    registry.register(_Collector(counters))
    return counters
