"""Iterate segments while a transcription runs in a worker thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from localwhisper.audio import AudioSource
from localwhisper.transcribe.chunk_decoder import AbortHandle, SegmentCallback
from localwhisper.types import Segment, TranscribeOptions, Transcription

_DONE = object()


class Transcriber(Protocol):
    """What a stream needs of a model (:class:`~localwhisper.transcribe.engine.Model` is one)."""

    def transcribe(self, audio: AudioSource, options: TranscribeOptions | None = None, *,
                   on_segment: SegmentCallback | None = None, abort: AbortHandle | None = None,
                   **overrides: Any) -> Transcription: ...


class TranscriptionStream:
    """``for segment in model.stream(audio): ...``; closing it early aborts the job."""

    def __init__(self, model: Transcriber, audio: AudioSource, options: TranscribeOptions | None,
                 overrides: dict[str, Any]) -> None:
        self.abort: AbortHandle = AbortHandle()
        self.result: Transcription | None = None
        self.error: BaseException | None = None
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(
            target=self._work, args=(model, audio, options, overrides), name="localwhisper-stream",
            daemon=True)
        self._thread.start()

    def _work(self, model: Transcriber, audio: AudioSource, options: TranscribeOptions | None,
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
