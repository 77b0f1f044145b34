"""Run blocking transcriptions in worker threads without ever blocking the event loop.

Each job runs ``Model.transcribe`` through :func:`anyio.to_thread.run_sync` on a limiter
large enough that requests wait in the model's own bounded queue (which answers 503 when
full) rather than in front of the thread pool. Beside it a watcher task aborts the native
job when the client disconnects, when the request timeout passes, or when the request
task itself is cancelled (server shutdown); whisper.cpp stops within one decoding step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.types import Receive

from localwhisper.errors import (
    LocalWhisperError,
    ProcessingTimeout,
    ServerBusy,
    TranscriptionAborted,
)
from localwhisper.types import Segment, TranscribeOptions, Transcription

from .memory import MemoryBudget, request_estimate, trim
from .metrics import Metrics

if TYPE_CHECKING:
    from localwhisper.models.registry import ModelRegistry
    from localwhisper.transcribe.engine import AbortHandle, Model

logger = logging.getLogger(__name__)
MIN_THREADS = 64


@dataclass
class _Outcome:
    finished: bool = False
    disconnected: bool = False
    timed_out: bool = False


class JobRunner:
    def __init__(self, registry: ModelRegistry, metrics: Metrics, *, request_timeout_s: float,
                 max_threads: int, budget: MemoryBudget | None = None) -> None:
        self.budget = budget or MemoryBudget(None)
        self.registry = registry
        self.metrics = metrics
        self.request_timeout_s = request_timeout_s or math.inf
        self.max_threads = max(MIN_THREADS, max_threads)
        self._limiter: anyio.CapacityLimiter | None = None
        self._jobs: set[AbortHandle] = set()

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created lazily: it must belong to the running event loop
            self._limiter = anyio.CapacityLimiter(self.max_threads)
        return self._limiter

    @property
    def active(self) -> int:
        return len(self._jobs)

    async def model(self, name: str) -> Model:
        """The loaded model (loading it in a worker thread on first use)."""
        return await anyio.to_thread.run_sync(self.registry.get, name, limiter=self.limiter)

    async def transcribe(self, model: Model, audio: Any, options: TranscribeOptions, *,
                         receive: Receive | None = None,
                         on_segment: Callable[[Segment], None] | None = None) -> Transcription:
        """Transcribe in a worker thread; ``receive`` (body already read) is watched for a disconnect."""
        from localwhisper.transcribe.engine import AbortHandle

        abort = AbortHandle()
        outcome = _Outcome()
        error: BaseException | None = None
        result: Transcription | None = None
        work = partial(model.transcribe, audio, options, on_segment=on_segment, abort=abort,
                       queue_timeout_s=None if math.isinf(self.request_timeout_s) else self.request_timeout_s)
        try:
            reservation = self.budget.admit(request_estimate(vad=options.vad))
        except ServerBusy as exc:
            self.metrics.observe_failure(model.name, options.task, "memory_budget")
            raise exc
        self._jobs.add(abort)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch, abort, receive, outcome)
                try:
                    result = await anyio.to_thread.run_sync(work, limiter=self.limiter)
                except Exception as exc:  # re-raised below, outside the task group
                    error = exc
                finally:
                    outcome.finished = True
                    group.cancel_scope.cancel()
        finally:
            self._jobs.discard(abort)
            self.budget.release(reservation)
            if not self._jobs:  # idle: hand the freed heap pages back to the OS
                await anyio.to_thread.run_sync(trim)
        task = options.task
        if error is not None:
            if isinstance(error, TranscriptionAborted) and outcome.timed_out:
                error = ProcessingTimeout(
                    f"The transcription took longer than {self.request_timeout_s:g} s and was stopped.")
            self.metrics.observe_failure(model.name, task, _outcome_label(error, outcome))
            raise error
        if result is None:  # unreachable: no error means a result
            raise RuntimeError("the transcription returned nothing")
        self.metrics.observe_transcription(model.name, task, result)
        return result

    async def _watch(self, abort: AbortHandle, receive: Receive | None, outcome: _Outcome) -> None:
        try:
            with anyio.move_on_after(self.request_timeout_s):
                await _until_disconnected(receive)
                outcome.disconnected = True
                logger.info("client disconnected: aborting its transcription")
                abort.abort()
                return
            outcome.timed_out = True
            abort.abort()
        finally:
            if not outcome.finished:  # cancelled (shutdown, or the response stream closed)
                abort.abort()

    def abort_all(self) -> int:
        jobs = list(self._jobs)
        for abort in jobs:
            abort.abort()
        return len(jobs)

    async def wait_idle(self, timeout_s: float) -> bool:
        with anyio.move_on_after(timeout_s):
            while self._jobs:
                await anyio.sleep(0.05)
        return not self._jobs


async def _until_disconnected(receive: Receive | None) -> None:
    if receive is None:  # nothing to watch: only the timeout or a cancellation ends the wait
        await anyio.sleep_forever()
        return
    while (await receive())["type"] != "http.disconnect":
        await anyio.sleep(0.05)  # the body is read: only a disconnect should arrive


def _outcome_label(error: BaseException, outcome: _Outcome) -> str:
    if outcome.disconnected:
        return "disconnected"
    if isinstance(error, ProcessingTimeout):
        return "timeout"
    if isinstance(error, ServerBusy):
        return "busy"
    if isinstance(error, LocalWhisperError) and error.http_status < 500:
        return "rejected"
    return "error"
