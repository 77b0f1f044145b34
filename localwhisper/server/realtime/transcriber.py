"""Transcribe a session's committed items one after another, in commit order.

Each item is one ``Model.transcribe`` through the server's :class:`JobRunner`: it leases
a whisper state from the model's pool for that turn only (sessions and HTTP requests
queue for states on equal terms), runs in a worker thread (the engine releases the GIL),
and is aborted by the runner's watcher when the session's task is cancelled (the client
went away). Segments become ``…transcription.delta`` events as whisper.cpp decodes them;
``…completed`` carries their concatenation. A failure is a ``…failed`` event for that
item; the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from localwhisper.errors import LocalWhisperError
from localwhisper.types import Segment, TranscribeOptions

from ..services import Services
from . import events
from .hub import Counters
from .input_audio import Turn
from .session_config import Transcription
from .turns import SAMPLE_RATE

logger = logging.getLogger("localwhisper.realtime")
Send = Callable[[dict[str, Any]], Awaitable[None]]
_END = object()


@dataclass(frozen=True)
class Item:
    item_id: str
    previous_item_id: str | None
    turn: Turn
    settings: Transcription
    logprobs: bool
    beta: bool


def transcribe_options(defaults: TranscribeOptions, settings: Transcription) -> TranscribeOptions:
    changes: dict[str, Any] = {"vad": False}  # the turn is already speech
    if settings.language is not None:
        changes["language"] = settings.language
    if settings.prompt is not None:
        changes["initial_prompt"] = settings.prompt
    return defaults.with_overrides(**changes)


class ItemTranscriber:
    def __init__(self, services: Services, send: Send, counters: Counters) -> None:
        self.services = services
        self.send = send
        self.counters = counters
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._pending = 0  # submitted, not yet finished

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(self, item: Item) -> None:
        self._pending += 1
        self.counters.items_pending += 1
        self._queue.put_nowait(item)

    async def run(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                try:
                    await self._transcribe(item)
                finally:
                    self._pending -= 1
                    self.counters.items_pending -= 1
        finally:  # cancelled: what is still queued will never run
            self.counters.items_pending -= self._queue.qsize()
            self._pending -= self._queue.qsize()

    async def _transcribe(self, item: Item) -> None:
        runner = self.services.runner
        loop = asyncio.get_running_loop()
        segments: asyncio.Queue[object] = asyncio.Queue()
        parts: list[str] = []

        def on_segment(segment: Segment) -> None:  # in the worker thread
            loop.call_soon_threadsafe(segments.put_nowait, segment)

        async def pump() -> None:
            while (segment := await segments.get()) is not _END:
                if isinstance(segment, Segment) and (text := segment.text.strip()):
                    text = (" " if parts else "") + text
                    parts.append(text)
                    logprobs = [t.to_dict() for t in segment.logprobs] if item.logprobs else None
                    await self.send(events.delta(item.item_id, text, logprobs))

        error: BaseException | None = None
        result = None
        try:
            model = await runner.model(item.settings.model or "")
            options = transcribe_options(model.default_options, item.settings)
            async with anyio.create_task_group() as group:
                group.start_soon(pump)
                self.counters.transcribing += 1
                try:
                    result = await runner.transcribe(model, item.turn.samples, options, on_segment=on_segment)
                except LocalWhisperError as exc:
                    error = exc
                finally:
                    self.counters.transcribing -= 1
                    loop.call_soon(segments.put_nowait, _END)  # after any segment still in flight
        except LocalWhisperError as exc:  # the model could not be found or loaded
            error = exc
        if error is not None or result is None:
            logger.info("realtime item %s failed: %s", item.item_id, error)
            await self.send(events.failed(item.item_id, error or RuntimeError("no result")))
            return
        seconds = round((item.turn.end - item.turn.start) / SAMPLE_RATE, 3)
        logprobs = [t.to_dict() for t in result.logprobs] if item.logprobs else None
        for event in events.completed(item.beta, item.item_id, item.previous_item_id, "".join(parts),
                                      seconds, logprobs):
            await self.send(event)
