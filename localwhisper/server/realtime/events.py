"""Realtime events: ids, client-frame parsing, and the server events of both dialects.

Every server event gets a fresh ``event_id``; items are ``item_…`` and sessions
``sess_…``. A client frame that is not a JSON object with a string ``type`` raises
:class:`~localwhisper.errors.InvalidEvent` (answered by an ``error`` event; the session
goes on). The error event carries the OpenAI error object of the one error mapping in
:mod:`localwhisper.server.errors`, plus the client's ``event_id`` when it sent one.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from localwhisper.errors import InvalidEvent

from ..errors import error_payload

CLIENT_EVENTS = ("session.update", "transcription_session.update", "input_audio_buffer.append",
                 "input_audio_buffer.commit", "input_audio_buffer.clear")
TRANSCRIPTION_PREFIX = "conversation.item.input_audio_transcription"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(11)}"


def decode_frame(text: str) -> dict[str, Any]:
    """A text frame as a JSON object (not yet checked as an event)."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidEvent("The event is not valid JSON.", code="invalid_json") from None
    if not isinstance(event, dict):
        raise InvalidEvent("An event must be a JSON object.", code="invalid_event")
    return event


def client_event_id(event: dict[str, Any]) -> str | None:
    event_id = event.get("event_id")
    return event_id if isinstance(event_id, str) else None


def parse_client_event(text: str) -> dict[str, Any]:
    return check_client_event(decode_frame(text))


def check_client_event(event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("type")
    if not isinstance(kind, str):
        raise InvalidEvent("The event has no string 'type'.", code="invalid_event", param="type")
    if kind not in CLIENT_EVENTS:
        raise InvalidEvent(f"Unsupported event type {kind[:100]!r} in a transcription session; supported: "
                           f"{', '.join(CLIENT_EVENTS)}.", code="unsupported_event", param="type")
    event_id = event.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise InvalidEvent("'event_id' must be a string.", code="invalid_event", param="event_id")
    return event


def server_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": new_id("event"), **fields}


def error_event(exc: BaseException, client_event_id: str | None = None) -> dict[str, Any]:
    error = dict(error_payload(exc)["error"])
    error["event_id"] = client_event_id
    return server_event("error", error=error)


def session_event(beta: bool, suffix: str, session: dict[str, Any]) -> dict[str, Any]:
    """``transcription_session.<suffix>`` (beta) or ``session.<suffix>`` (GA)."""
    return server_event(("transcription_session." if beta else "session.") + suffix, session=session)


def input_item(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
            "status": "completed", "content": [{"type": "input_audio", "transcript": transcript}]}


def speech_started(item_id: str, audio_start_ms: int) -> dict[str, Any]:
    return server_event("input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=item_id)


def speech_stopped(item_id: str, audio_end_ms: int) -> dict[str, Any]:
    return server_event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)


def committed(beta: bool, item_id: str, previous_item_id: str | None) -> list[dict[str, Any]]:
    """``committed`` and the item events that follow it (GA adds ``conversation.item.added``)."""
    events = [server_event("input_audio_buffer.committed", item_id=item_id,
                           previous_item_id=previous_item_id),
              server_event("conversation.item.created", previous_item_id=previous_item_id,
                           item=input_item(item_id))]
    if not beta:
        events.append(server_event("conversation.item.added", previous_item_id=previous_item_id,
                                   item=input_item(item_id)))
    return events


def delta(item_id: str, text: str, logprobs: list[dict[str, Any]] | None) -> dict[str, Any]:
    event = server_event(f"{TRANSCRIPTION_PREFIX}.delta", item_id=item_id, content_index=0, delta=text)
    if logprobs is not None:
        event["logprobs"] = logprobs
    return event


def completed(beta: bool, item_id: str, previous_item_id: str | None, transcript: str, seconds: float,
              logprobs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """``…transcription.completed`` (GA: then ``conversation.item.done`` with the transcript)."""
    event = server_event(f"{TRANSCRIPTION_PREFIX}.completed", item_id=item_id, content_index=0,
                         transcript=transcript, usage={"type": "duration", "seconds": seconds})
    if logprobs is not None:
        event["logprobs"] = logprobs
    events = [event]
    if not beta:
        events.append(server_event("conversation.item.done", previous_item_id=previous_item_id,
                                   item=input_item(item_id, transcript)))
    return events


def failed(item_id: str, exc: BaseException) -> dict[str, Any]:
    return server_event(f"{TRANSCRIPTION_PREFIX}.failed", item_id=item_id, content_index=0,
                        error=error_payload(exc)["error"])
