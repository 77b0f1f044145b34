"""Ray runner: a pool of actors across a cluster, one model per actor, loaded once.

Each actor is a :class:`~localwhisper.batch.worker.FileWorker` with one state and
``threads`` threads, and asks Ray for ``num_cpus = threads``; by default the pool
fills the cluster's CPUs. The driver streams inputs to the actors, at most
:data:`IN_FLIGHT_PER_ACTOR` files each, and collects the records as they finish; the
workers write the outputs themselves, so the output root must be a path every node
sees (a shared folder or an fsspec URL). The manifest stays with the driver.

An actor that dies (killed, out of memory, a native crash, its node lost) costs one
retry of the file it was working on: the driver replaces the actor, resubmits that
file (up to ``max_retries`` times; then it is an error line, so a file that kills
its worker every time cannot stall the batch) and resubmits the files that were
queued behind it without counting them. Ray runs an actor's tasks in submission
order, so the oldest unfinished task of a dead actor is the one it was running.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from localwhisper.batch.inputs import BatchItem
from localwhisper.batch.job import BatchJob, ModelSpec
from localwhisper.batch.manifest import Record
from localwhisper.batch.worker import FileWorker, error_record
from localwhisper.errors import BatchError
from localwhisper.resources import available_cores
from localwhisper.transcribe.pool import DEFAULT_THREADS_PER_STATE

IN_FLIGHT_PER_ACTOR = 2  # one running, one queued: the actor never waits for the driver
MAX_STARTUP_FAILURES = 3  # actors in a row that die before they are ready: the batch stops
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024  # only small records travel through it
INSTALL_HINT = "pip install 'localwhisper[ray]'"


class WorkerDied(Exception):
    """The worker process died while it worked on this file (every try)."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BatchError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (``auto``, ``ray://host:10001``, ``host:6379``), or start a
    local one when it is None; True when this call connected (and so should disconnect)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        if address is None:
            ray.init(num_cpus=available_cores(), include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise BatchError(f"cannot connect to {where}: {_last_line(exc)}") from exc
    return True


@dataclass
class _Actor:
    handle: Any
    ready: Any  # the describe() call's ObjectRef until it answers
    tasks: dict[Any, tuple[BatchItem, int]] = field(default_factory=dict)  # ref → (item, attempt), FIFO


class RayRunner:
    name = "ray"

    def __init__(self, model: ModelSpec, job: BatchJob, output_root: str, options_key: str, *,
                 address: str | None = None, max_retries: int = 3) -> None:
        self.ray = import_ray()
        self._connected = connect(address)
        self.options_key = options_key
        self.max_retries = max_retries
        self.threads = model.n_threads or self._default_threads()
        cpus = int(self.ray.cluster_resources().get("CPU", self.threads))
        self.n_actors = model.n_states or max(1, cpus // self.threads)
        spec = ModelSpec(model.model, model.models_dir, n_states=1, n_threads=self.threads)
        remote = self.ray.remote(FileWorker).options(num_cpus=self.threads, max_restarts=0,
                                                     max_concurrency=1)
        self._new_actor = lambda: remote.remote(spec, job, output_root, options_key)
        self._actors: list[_Actor] = []
        self._startup_failures = 0
        self.workers: list[dict[str, Any]] = []  # describe() of every actor that became ready
        self.deaths = 0
        for _ in range(self.n_actors):
            self._spawn()

    def describe(self) -> str:
        return f"ray: {self.n_actors} actor(s) × {self.threads} thread(s)"

    def _default_threads(self) -> int:
        per_node = [node.get("Resources", {}).get("CPU", 0) for node in self.ray.nodes() if node.get("Alive")]
        return max(1, min(DEFAULT_THREADS_PER_STATE, int(max(per_node, default=1))))

    def _spawn(self) -> None:
        handle = self._new_actor()
        self._actors.append(_Actor(handle, handle.describe.remote()))

    def run(self, items: Iterable[BatchItem]) -> Iterator[Record]:
        """Records in completion order, one per item, retried files included."""
        source = iter(items)
        retry: deque[tuple[BatchItem, int]] = deque()
        exhausted = False
        while True:
            for actor in self._actors:
                while len(actor.tasks) < IN_FLIGHT_PER_ACTOR and (retry or not exhausted):
                    if retry:
                        item, attempt = retry.popleft()
                    else:
                        next_item = next(source, None)
                        if next_item is None:
                            exhausted = True
                            break
                        item, attempt = next_item, 1
                    actor.tasks[actor.handle.process.remote(item, None, attempt)] = (item, attempt)
            tasks = {ref: actor for actor in self._actors for ref in actor.tasks}
            if not tasks:
                return
            starting = {actor.ready: actor for actor in self._actors if actor.ready is not None}
            done, _ = self.ray.wait([*starting, *tasks], num_returns=1)
            ref = done[0]
            if ref in starting:
                self._on_ready(starting[ref], ref, retry)
                continue
            actor = tasks[ref]
            item, attempt = actor.tasks[ref]
            try:
                record = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as exc:  # raised in process(): not a death
                del actor.tasks[ref]
                yield error_record(item, self.options_key, getattr(exc, "cause", None) or exc,
                                   attempts=attempt)
            except self.ray.exceptions.RayError as exc:  # the actor is gone, with all its tasks
                yield from self._on_death(actor, exc, retry, started=True)
            else:
                del actor.tasks[ref]
                yield record

    def _on_ready(self, actor: _Actor, ref: Any, retry: deque[tuple[BatchItem, int]]) -> None:
        actor.ready = None
        try:
            self.workers.append(self.ray.get(ref))
            self._startup_failures = 0
        except self.ray.exceptions.RayError as exc:
            self._startup_failures += 1
            for _record in self._on_death(actor, exc, retry, started=False):
                pass  # nothing ran: no attempt is counted, no record comes out
            if self._startup_failures >= MAX_STARTUP_FAILURES:
                raise BatchError(f"the Ray workers cannot start: {_last_line(exc)}") from exc

    def _on_death(self, actor: _Actor, exc: Exception, retry: deque[tuple[BatchItem, int]], *,
                  started: bool) -> Iterator[Record]:
        """Replace a dead actor; its running file is retried (or given up), the queued ones resent."""
        self.deaths += 1
        self._actors.remove(actor)
        self._kill(actor.handle)
        tasks = list(actor.tasks.values())
        actor.tasks.clear()
        if started and tasks:
            (item, attempt), tasks = tasks[0], tasks[1:]
            if attempt > self.max_retries:
                died = WorkerDied(f"the worker died on each of {attempt} tries: {_last_line(exc)}")
                yield error_record(item, self.options_key, died, attempts=attempt)
            else:
                retry.append((item, attempt + 1))
        retry.extendleft(reversed(tasks))
        self._spawn()

    def _kill(self, handle: Any) -> None:
        with contextlib.suppress(Exception):  # already gone
            self.ray.kill(handle, no_restart=True)

    def close(self) -> None:
        for actor in self._actors:
            self._kill(actor.handle)
        self._actors.clear()
        if self._connected and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(exc).__name__
