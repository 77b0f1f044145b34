"""One file in, its outputs written, its manifest record out: the work both runners share.

A :class:`FileWorker` loads its model once and is then called once per input. It is
safe to call from several threads at once (the embedded runner does, one thread per
state); on Ray each actor is one ``FileWorker`` with one state. Any failure on a
file becomes an error :class:`Record`, so one bad file never stops a batch.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from localwhisper.batch.inputs import BatchItem
from localwhisper.batch.job import BatchJob, ModelSpec
from localwhisper.batch.manifest import Record
from localwhisper.batch.outputs import open_tree
from localwhisper.errors import LocalWhisperError
from localwhisper.formatters import format_transcription
from localwhisper.transcribe.chunk_decoder import AbortHandle


def error_record(item: BatchItem, options_key: str, exc: BaseException, wall_seconds: float = 0.0,
                 **extra: Any) -> Record:
    if isinstance(exc, LocalWhisperError):
        message = exc.message
    elif isinstance(exc, OSError):
        message = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        message = str(exc) or type(exc).__name__
    return Record(input=item.key, path=item.source, status="error", wall_seconds=round(wall_seconds, 3),
                  error_type=type(exc).__name__, error=message, options_key=options_key,
                  source_size=item.size, source_mtime_ns=item.mtime_ns, **extra)


class FileWorker:
    def __init__(self, model: ModelSpec, job: BatchJob, output_root: str, options_key: str) -> None:
        self.job = job
        self.options_key = options_key
        self.tree = open_tree(output_root)
        self.model = model.load()
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def describe(self) -> dict[str, Any]:
        """Where this worker runs: its host, process id and threads per file."""
        return {"host": socket.gethostname(), "pid": os.getpid(), "threads": self.model.n_threads,
                "states": self.model.pool.max_states, "load_seconds": round(self.model.load_seconds, 3)}

    def process(self, item: BatchItem, abort: AbortHandle | None = None, attempt: int = 1) -> Record:
        started = time.perf_counter()
        try:
            result = self.model.transcribe(item.source, abort=abort, **self.job.overrides)
            outputs: dict[str, int] = {}
            for fmt, name in zip(self.job.formats, self.job.output_names(item.stem), strict=True):
                body, _media_type = format_transcription(result, fmt, **self.job.format_options(fmt))
                if not body.endswith("\n"):
                    body += "\n"
                outputs[name] = self.tree.write_atomic(name, body)
        except Exception as exc:  # the batch goes on: the failure is this file's manifest line
            return error_record(item, self.options_key, exc, time.perf_counter() - started,
                                attempts=attempt, worker=self.name)
        info = result.info
        return Record(input=item.key, path=item.source, status="ok",
                      audio_seconds=round(info.duration_ms / 1000, 3), language=info.language,
                      language_probability=info.language_probability,
                      wall_seconds=round(time.perf_counter() - started, 3), outputs=outputs,
                      options_key=self.options_key, source_size=item.size, source_mtime_ns=item.mtime_ns,
                      attempts=attempt, worker=self.name)

    def close(self) -> None:
        self.model.close()
