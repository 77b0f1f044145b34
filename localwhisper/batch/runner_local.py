"""Embedded runner: this machine's state pool, one file per state at a time.

The model is loaded once with ``states × threads = cores`` (``plan_parallelism``);
one thread per state takes the next file, decodes it and transcribes it on a leased
state, so as many files are in flight as there are states, plus one queued each.
Closing the runner (Ctrl-C included) aborts the files in flight at their next graph
step and waits for their threads; their records are dropped, so the files are done
again by the next run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from localwhisper.batch.inputs import BatchItem
from localwhisper.batch.job import BatchJob, ModelSpec
from localwhisper.batch.manifest import Record
from localwhisper.batch.worker import FileWorker
from localwhisper.transcribe.chunk_decoder import AbortHandle
from localwhisper.transcribe.pool import plan_parallelism


class LocalRunner:
    name = "embedded"

    def __init__(self, model: ModelSpec, job: BatchJob, output_root: str, options_key: str) -> None:
        states, threads = plan_parallelism(model.n_states, model.n_threads)
        self.worker = FileWorker(ModelSpec(model.model, model.models_dir, states, threads), job,
                                 output_root, options_key)
        self.states = self.worker.model.pool.max_states
        self.threads = self.worker.model.n_threads
        self._executor = ThreadPoolExecutor(max_workers=self.states, thread_name_prefix="batch")
        self._aborts: dict[Future[Record], AbortHandle] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"embedded: {self.states} state(s) × {self.threads} thread(s)"

    def run(self, items: Iterable[BatchItem]) -> Iterator[Record]:
        """Records in completion order; at most two files per state are in flight."""
        source = iter(items)
        pending: set[Future[Record]] = set()
        limit = 2 * self.states
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                pending.add(self._submit(item))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                with self._lock:
                    self._aborts.pop(future, None)
                yield future.result()

    def _submit(self, item: BatchItem) -> Future[Record]:
        abort = AbortHandle()
        future = self._executor.submit(self.worker.process, item, abort)
        with self._lock:
            self._aborts[future] = abort
        return future

    def close(self) -> None:
        with self._lock:
            aborts = list(self._aborts.items())
            self._aborts.clear()
        for future, abort in aborts:
            future.cancel()
            abort.abort()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.worker.close()

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
