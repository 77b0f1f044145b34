"""``/v1/realtime``: the WebSocket endpoint of realtime transcription sessions.

``ws://HOST/v1/realtime?intent=transcription`` (``model=NAME`` may be added, or given
alone: it sets the session's transcription model). Every session is a transcription
session. API keys, when configured, are checked by the middleware before this runs
(``Authorization: Bearer`` or the browser's ``openai-insecure-api-key.<key>``
subprotocol). The ``realtime`` subprotocol is echoed when offered (browsers fail a
handshake that ignores the subprotocols they offered); the key-bearing one never is.
The beta dialect is chosen by the ``OpenAI-Beta: realtime=v1`` header or the
``openai-beta.realtime-v1`` subprotocol (or later by a ``transcription_session.update``).

Browsers let any page open a WebSocket to any host and read the answers, so a handshake
that carries an ``Origin`` (browsers always send one) must come from the server's own
origin or one of the configured CORS origins; others are closed with 1008 (HTTP 403).
Clients that send no ``Origin`` (SDKs, scripts) are not affected.

Each session is admitted against the server's memory budget (its VAD context and a full
input buffer); when it does not fit, the handshake is answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from localwhisper.errors import ServerBusy

from ..errors import error_response
from ..memory import MIB
from ..services import services_of
from .hub import Counters
from .session import RealtimeSession

logger = logging.getLogger("localwhisper.realtime")
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
SESSION_BASE_BYTES = 4 * MIB  # a session's own Silero context (3 MiB) and bookkeeping
SAMPLE_BYTES = 4  # float32 at 16 kHz in the input buffer
ECHOED_SUBPROTOCOLS = ("realtime", BETA_SUBPROTOCOL)


def chosen_subprotocol(offered: list[str]) -> str | None:
    return next((name for name in ECHOED_SUBPROTOCOLS if name in offered), None)


def is_beta(websocket: WebSocket, offered: list[str]) -> bool:
    header = websocket.headers.get("openai-beta", "")
    return "realtime=v1" in header.replace(" ", "").lower() or BETA_SUBPROTOCOL in offered


def origin_allowed(websocket: WebSocket, allowed: tuple[str, ...]) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None or "*" in allowed or origin in allowed:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


async def realtime(websocket: WebSocket) -> None:
    services = services_of(websocket)
    counters: Counters = websocket.app.state.realtime
    offered = list(websocket.scope.get("subprotocols") or [])
    if not origin_allowed(websocket, services.settings.cors_origins):
        logger.warning("realtime handshake from origin %s refused (not this server's origin nor a CORS "
                       "origin)", websocket.headers.get("origin"))
        await websocket.close(POLICY_VIOLATION)
        return
    estimate = SESSION_BASE_BYTES + int(services.settings.realtime_max_buffer_s * 16000 * SAMPLE_BYTES)
    try:
        reservation = services.runner.budget.admit(estimate)
    except ServerBusy as exc:
        logger.warning("realtime session refused: %s", exc.message)
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(error_response(exc))
        else:
            await websocket.close(TRY_AGAIN_LATER)
        return
    try:
        await websocket.accept(subprotocol=chosen_subprotocol(offered))
        session = RealtimeSession(websocket, services, counters, beta=is_beta(websocket, offered),
                                  model=websocket.query_params.get("model"))
        logger.info("realtime session %s opened (%s dialect)", session.id, "beta" if session.beta else "GA")
        try:
            await session.run()
        finally:
            logger.info("realtime session %s closed after %.1f s", session.id, session.age_s)
    finally:
        services.runner.budget.release(reservation)


ROUTES = [WebSocketRoute("/v1/realtime", realtime)]
