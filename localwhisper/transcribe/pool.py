"""A pool of whisper states over one shared context, with a bounded wait queue.

One ``WhisperContext`` holds the weights; each concurrent transcription leases
its own ``WhisperState`` (created lazily, reused afterwards). A pool may serve
more than one context of the same model (e.g. a DTW-enabled one for word
timestamps): they share one limit. At most ``max_states`` run at once; up to
``max_queue`` more wait, served strictly first come, first served (a late
arrival never takes a slot ahead of an earlier waiter, so tail latency under
load stays close to the median); beyond that a caller gets :class:`ServerBusy`
at once instead of an unbounded wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from localwhisper.errors import ServerBusy, TranscriptionAborted
from localwhisper.resources import available_cores
from whisper_native import WhisperContext, WhisperState

DEFAULT_THREADS_PER_STATE = 4




def plan_parallelism(n_states: int | None, n_threads: int | None,
                     cores: int | None = None) -> tuple[int, int]:
    """(states, threads per state) with states × threads ≤ cores unless both are given.

    Oversubscribing cores makes ggml's spinning workers fight: 10–30× slower.
    """
    cores = cores or available_cores()
    if n_states and n_threads:
        return n_states, n_threads
    if n_threads:
        return max(1, cores // n_threads), n_threads
    if n_states:
        return n_states, max(1, cores // n_states)
    threads = min(DEFAULT_THREADS_PER_STATE, cores)
    return max(1, cores // threads), threads


@dataclass(frozen=True)
class PoolStats:
    max_states: int
    created: int
    in_flight: int
    waiting: int
    max_queue: int


class StatePool:
    def __init__(self, context: WhisperContext, *, max_states: int, max_queue: int = 64) -> None:
        if max_states < 1:
            raise ValueError("max_states must be >= 1")
        self.context = context
        self.max_states = max_states
        self.max_queue = max_queue
        self._idle: dict[int, list[WhisperState]] = {}
        self._contexts: dict[int, WhisperContext] = {id(context): context}
        self._created = 0
        self._in_flight = 0
        self._waiters: deque[object] = deque()  # tickets of callers waiting, oldest first
        self._closed = False
        self._cond = threading.Condition()

    def stats(self) -> PoolStats:
        with self._cond:
            return PoolStats(self.max_states, self._created, self._in_flight, len(self._waiters),
                             self.max_queue)

    @contextmanager
    def lease(self, *, timeout_s: float | None = None, cancelled: threading.Event | None = None,
              context: WhisperContext | None = None) -> Iterator[WhisperState]:
        """A state for the duration of the ``with`` block; waits for one if all are busy."""
        state = self._acquire(context or self.context, timeout_s, cancelled)
        try:
            yield state
        finally:
            self._release(state)

    def _acquire(self, context: WhisperContext, timeout_s: float | None,
                 cancelled: threading.Event | None) -> WhisperState:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            if self._closed:
                raise ServerBusy("the model is being unloaded; retry the request")
            if self._in_flight >= self.max_states and len(self._waiters) >= self.max_queue:
                raise ServerBusy(
                    f"all {self.max_states} transcription slot(s) are busy and {len(self._waiters)} "
                    "request(s) are already waiting; retry later")
            ticket = object()
            self._waiters.append(ticket)
            try:
                while self._in_flight >= self.max_states or self._waiters[0] is not ticket:
                    if cancelled is not None and cancelled.is_set():
                        raise TranscriptionAborted("cancelled while waiting for a free slot")
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise ServerBusy("timed out waiting for a free transcription slot")
                    # wake periodically to notice cancellation
                    self._cond.wait(0.1 if remaining is None else min(0.1, remaining))
                    if self._closed:
                        raise ServerBusy("the model is being unloaded; retry the request")
            finally:
                self._waiters.remove(ticket)
                self._cond.notify_all()  # the next ticket may now be at the head
            self._in_flight += 1
            self._contexts[id(context)] = context
            idle = self._idle.get(id(context))
            state = idle.pop() if idle else None
        if state is None:
            try:
                state = context.new_state()
            except BaseException:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()
                raise
            with self._cond:
                self._created += 1
        return state

    def _release(self, state: WhisperState) -> None:
        with self._cond:
            self._in_flight -= 1
            if self._closed:
                state.close()
            else:
                self._idle.setdefault(id(state.context), []).append(state)
            self._cond.notify_all()

    def close(self) -> None:
        """Free idle states now; busy ones are freed when their lease ends."""
        with self._cond:
            self._closed = True
            idle = [state for states in self._idle.values() for state in states]
            self._idle = {}
            contexts = list(self._contexts.values())
            self._cond.notify_all()
        for state in idle:
            state.close()
        for context in contexts:
            context.close()
