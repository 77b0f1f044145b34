"""Iterate segments while a transcription runs in a worker thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .audio import AudioSource
from .types import Segment, TranscribeOptions, Transcription

if TYPE_CHECKING:
    from .engine import AbortHandle, Model

_DONE = object()


class TranscriptionStream:
    """``for segment in model.stream(audio): ...``; closing it early aborts the job."""

    def __init__(self, model: Model, audio: AudioSource, options: TranscribeOptions | None,
                 overrides: dict[str, Any]) -> None:
        from .engine import AbortHandle

        self.abort: AbortHandle = AbortHandle()
        self.result: Transcription | None = None
        self.error: BaseException | None = None
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(
            target=self._work, args=(model, audio, options, overrides), name="localwhisper-stream",
            daemon=True)
        self._thread.start()

    def _work(self, model: Model, audio: AudioSource, options: TranscribeOptions | None,
              overrides: dict[str, Any]) -> None:
        try:
            self.result = model.transcribe(audio, options, on_segment=self._queue.put, abort=self.abort,
                                           **overrides)
        except BaseException as exc:
            self.error = exc
        finally:
            self._queue.put(_DONE)

    def __iter__(self) -> Iterator[Segment]:
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    break
                yield item  # type: ignore[misc]
            if self.error is not None:
                raise self.error
        finally:
            if self._thread.is_alive():
                self.close()

    def close(self) -> None:
        self.abort.abort()
        self._thread.join()

    def __enter__(self) -> TranscriptionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
