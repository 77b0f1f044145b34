"""Server-sent events for ``stream=true``, in the shape of OpenAI's transcription stream.

::

    data: {"type": "transcript.text.delta", "delta": "And so my fellow Americans,"}
    data: {"type": "transcript.text.delta", "delta": " ask not what your country can do for you"}
    data: {"type": "transcript.text.done", "text": "And so my fellow Americans, ask not ..."}
    data: [DONE]

One delta per segment, sent as whisper.cpp decodes it (the worker thread hands segments
to the event loop with ``call_soon_threadsafe``); the deltas concatenate to the done
event's ``text``. With ``verbose`` each delta also has ``"segment": {"id", "start",
"end"}`` (extra keys are ignored by the official clients). The response starts with the
first event, so a failure before any text (undecodable audio, queue full) is an ordinary
HTTP error; a failure after it is one ``data: {"error": {...}}`` event, then the end.
A client that disconnects has its job aborted by the runner's watcher; what is sent
after that goes nowhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from localwhisper.types import Segment, Transcription

from .errors import error_payload, error_response

SegmentCallback = Callable[[Segment], None]
RunJob = Callable[[SegmentCallback], Awaitable[Transcription]]
_END = object()
HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
           (b"x-accel-buffering", b"no")]


def sse_event(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, allow_nan=False)
    return f"data: {text}\n\n".encode()


class TranscriptEventStream:
    """An ASGI response that runs the transcription itself and streams its segments."""

    def __init__(self, run: RunJob, *, with_segments: bool = False, with_logprobs: bool = False,
                 request_id: str = "-") -> None:
        self.run = run
        self.with_segments = with_segments
        self.with_logprobs = with_logprobs
        self.request_id = request_id
        self._started = False
        self._text_so_far = False

    def _delta(self, segment: Segment) -> dict[str, Any] | None:
        text = segment.text.strip()
        if not text:
            return None
        delta = (" " if self._text_so_far else "") + text
        event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
        self._text_so_far = True
        if self.with_segments:
            event["segment"] = {"id": segment.id, "start": segment.start, "end": segment.end}
        if self.with_logprobs:
            event["logprobs"] = [token.to_dict() for token in segment.logprobs]
        return event

    async def _emit(self, send: Send, data: dict[str, Any] | str) -> None:
        if not self._started:
            self._started = True
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": sse_event(data), "more_body": True})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def on_segment(segment: Segment) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(queue.put_nowait, segment)

        async def pump() -> None:
            while (item := await queue.get()) is not _END:
                if isinstance(item, Segment) and (event := self._delta(item)) is not None:
                    await self._emit(send, event)

        result: Transcription | None = None
        error: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(pump)
            try:
                result = await self.run(on_segment)
            except Exception as exc:  # reported below, outside the task group
                error = exc
            finally:
                loop.call_soon(queue.put_nowait, _END)  # after any segment still in flight
        if error is not None and not self._started:
            await error_response(error, self.request_id)(scope, receive, send)
            return
        if error is not None:
            await self._emit(send, error_payload(error, self.request_id))
        elif result is not None:
            done: dict[str, Any] = {"type": "transcript.text.done", "text": result.text}
            if self.with_logprobs:
                done["logprobs"] = [token.to_dict() for token in result.logprobs]
            await self._emit(send, done)
            await self._emit(send, "[DONE]")
        await send({"type": "http.response.body", "body": b"", "more_body": False})
