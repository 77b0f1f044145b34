"""One realtime transcription session: client events in, server events out.

The receive loop handles client events one at a time, in order; transcriptions run
beside it (:class:`ItemTranscriber`), so a long decode never delays the handling of
appends. Any bad event is answered by an ``error`` event and the session goes on. The
session ends when the client goes (its running transcription is aborted and queued ones
are dropped at once), when it stays idle past ``realtime_idle_timeout_s`` with nothing
in progress, or at ``realtime_max_session_s``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.websockets import WebSocket

from localwhisper.errors import InvalidEvent, LocalWhisperError
from localwhisper.models.config import DEFAULT_VAD_MODEL
from localwhisper.transcribe.engine import validate_options

from ..memory import trim
from ..services import Services
from . import events
from .audio_codecs import decode_base64
from .hub import Counters
from .input_audio import InputAudio, SpeechStarted, Turn
from .session_config import SessionConfig, Transcription, apply_update, is_ga_shape
from .transcriber import Item, ItemTranscriber, transcribe_options
from .turns import samples_to_ms

logger = logging.getLogger("localwhisper.realtime")
DEFAULT_MODEL = "whisper-1"
MAX_APPEND_BYTES = 15 * 1024 * 1024  # OpenAI's limit per append
MIN_COMMIT_MS = 100
CLOSE_NORMAL = 1000


class RealtimeSession:
    def __init__(self, websocket: WebSocket, services: Services, counters: Counters, *, beta: bool,
                 model: str | None) -> None:
        self.websocket = websocket
        self.services = services
        self.counters = counters
        self.beta = beta
        self.id = events.new_id("sess")
        self.started = time.monotonic()
        settings = services.settings
        self.expires_at = int(time.time() + settings.realtime_max_session_s)
        self._startup_problems: list[LocalWhisperError] = []  # reported right after session.created
        self.config = SessionConfig(transcription=Transcription(model=self._known(model) or DEFAULT_MODEL))
        try:
            self.audio = InputAudio(self.config, self._vad_model_path(), settings.realtime_max_buffer_s)
        except LocalWhisperError as exc:  # no VAD model: manual commits still work
            self._startup_problems.append(exc)
            self.config = dataclasses.replace(self.config, turn_detection=None)
            self.audio = InputAudio(self.config, None, settings.realtime_max_buffer_s)
        self.transcriber = ItemTranscriber(services, self.send, counters)
        self._speech_item: str | None = None  # the item of the turn in progress
        self._last_item: str | None = None
        self._scope = anyio.CancelScope()
        self._send_lock = anyio.Lock()
        self._closed = False

    @property
    def age_s(self) -> float:
        return time.monotonic() - self.started

    # --- plumbing ---------------------------------------------------------------------
    def _known(self, name: str | None) -> str | None:
        """The catalog name of the ``model`` query parameter (an unknown one is reported)."""
        if not name:
            return None
        try:
            return self.services.registry.resolve(name).name
        except LocalWhisperError as exc:
            self._startup_problems.append(exc)
            return None

    def _vad_model_path(self) -> Path:
        models_dir = self.services.registry.models_dir
        try:
            return self.services.registry.resolve(self.config.transcription.model or "").resolve_vad_model(
                models_dir)
        except LocalWhisperError:
            return models_dir / DEFAULT_VAD_MODEL

    def _session(self, beta: bool) -> dict[str, Any]:
        shape = self.config.beta() if beta else self.config.ga()
        return {"id": self.id, "object": "realtime.transcription_session", "expires_at": self.expires_at,
                **shape}

    async def send(self, event: dict[str, Any]) -> None:
        if self._closed:
            return
        text = json.dumps(event, ensure_ascii=False, allow_nan=False)
        async with self._send_lock:  # the receive loop and the transcriber both send
            try:
                await self.websocket.send_text(text)
            except Exception:  # the client is gone: end the session
                self._closed = True
                self._scope.cancel()

    async def _error(self, exc: BaseException, event_id: str | None = None) -> None:
        if not isinstance(exc, LocalWhisperError):
            logger.error("realtime session %s: unexpected error", self.id, exc_info=exc)
        await self.send(events.error_event(exc, event_id))

    # --- the session ----------------------------------------------------------------
    async def run(self) -> None:
        self.counters.sessions += 1
        reason: InvalidEvent | None = None  # stays None when the client left (or a send failed)
        try:
            with self._scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(self.transcriber.run)
                    await self.send(events.session_event(self.beta, "created", self._session(self.beta)))
                    for problem in self._startup_problems:
                        await self._error(problem)
                    reason = await self._receive_loop()
                    group.cancel_scope.cancel()
            if reason is not None and not self._closed:
                await self.send(events.error_event(reason))
                self._closed = True
                await self.websocket.close(CLOSE_NORMAL, reason.message[:120])
        finally:
            self.audio.close()
            self.counters.sessions -= 1
            if self.counters.sessions == 0:  # the last one: hand the freed heap back to the OS
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(trim)

    async def _receive_loop(self) -> InvalidEvent | None:
        """Handle events until the client leaves (None) or a limit ends the session (the reason)."""
        settings = self.services.settings
        while True:
            left = settings.realtime_max_session_s - (time.monotonic() - self.started)
            if left <= 0:
                return InvalidEvent(f"The session reached its maximum length of "
                                    f"{settings.realtime_max_session_s:g} s.", code="session_expired")
            message = None
            with anyio.move_on_after(min(left, settings.realtime_idle_timeout_s)):
                message = await self.websocket.receive()
            if message is None:
                if self.transcriber.busy or left <= settings.realtime_idle_timeout_s:
                    continue  # still working for the client (or about to expire): not idle
                return InvalidEvent(f"No event for {settings.realtime_idle_timeout_s:g} s: closing the idle "
                                    "session.", code="idle_timeout")
            if message["type"] == "websocket.disconnect":
                self._closed = True
                return None
            await self._on_frame(message)

    async def _on_frame(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if text is None:
            await self._error(InvalidEvent(
                "Binary frames are not supported: send events as JSON text frames.", code="invalid_event"))
            return
        event_id = None
        try:
            event = events.decode_frame(text)
            event_id = events.client_event_id(event)
            await self._dispatch(events.check_client_event(event))
        except Exception as exc:
            await self._error(exc, event_id)

    async def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "input_audio_buffer.append":
            await self._append(event)
        elif kind == "input_audio_buffer.commit":
            await self._commit_manual()
        elif kind == "input_audio_buffer.clear":
            self.audio.clear()
            self._speech_item = None
            await self.send(events.server_event("input_audio_buffer.cleared"))
        else:
            await self._update(kind, event.get("session"))

    # --- events ---------------------------------------------------------------------
    async def _update(self, kind: str, session: Any) -> None:
        beta_reply = kind == "transcription_session.update" or (
            self.beta and isinstance(session, dict) and not is_ga_shape(session))
        config = apply_update(self.config, session)
        if config.transcription != self.config.transcription:
            model = await self.services.runner.model(config.transcription.model or "")
            options = transcribe_options(model.default_options, config.transcription)
            validate_options(options, model.multilingual)
        self.audio.configure(config)
        self.config = config
        if kind == "transcription_session.update":
            self.beta = True
        await self.send(events.session_event(beta_reply, "updated", self._session(beta_reply)))

    def _feed(self, audio: Any) -> list[SpeechStarted | Turn]:
        """In a worker thread: base64 decoding of up to 20 MB, resampling and VAD stay off the loop."""
        return self.audio.feed(decode_base64(audio, MAX_APPEND_BYTES))

    async def _append(self, event: dict[str, Any]) -> None:
        for found in await anyio.to_thread.run_sync(self._feed, event.get("audio")):
            if isinstance(found, SpeechStarted):
                self._speech_item = events.new_id("item")
                await self.send(events.speech_started(self._speech_item, samples_to_ms(found.start)))
            else:
                item_id = self._speech_item or events.new_id("item")
                self._speech_item = None
                await self.send(events.speech_stopped(item_id, samples_to_ms(found.end)))
                await self._commit(item_id, found)

    async def _commit_manual(self) -> None:
        buffered_ms = samples_to_ms(self.audio.buffer.size)
        if buffered_ms < MIN_COMMIT_MS:
            raise InvalidEvent(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {buffered_ms:.2f}ms of audio.", code="input_audio_buffer_commit_empty")
        item_id = self._speech_item or events.new_id("item")
        self._speech_item = None
        await self._commit(item_id, self.audio.commit())

    async def _commit(self, item_id: str, turn: Turn) -> None:
        previous, self._last_item = self._last_item, item_id
        for event in events.committed(self.beta, item_id, previous):
            await self.send(event)
        self.transcriber.submit(Item(item_id, previous, turn, self.config.transcription, self.config.logprobs,
                                     self.beta))
