"""ASGI middleware: request id + access log + request metrics, and API-key auth.

Every response carries ``X-Request-ID`` (the client's, when it sent a sane one, else a
new one). One JSON access-log line per request goes to the ``localwhisper.access``
logger: request id, method, path, route template, status, duration, bytes in/out,
client address and model. An exception that escapes the app becomes the generic
OpenAI-shaped 500 here, so even that response has a request id.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localwhisper.errors import AuthenticationFailed

from .errors import error_response
from .metrics import Metrics

REQUEST_ID_HEADER = "x-request-id"
KEY_SUBPROTOCOL_PREFIX = "openai-insecure-api-key."  # how browsers send a key on a WebSocket
POLICY_VIOLATION = 1008
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_var: ContextVar[str] = ContextVar("localwhisper_request_id", default="-")
access_logger = logging.getLogger("localwhisper.access")


class RequestIdFilter(logging.Filter):
    """Adds ``%(request_id)s`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        info: dict[str, Any] = {"status": 500, "bytes_in": 0, "bytes_out": 0, "response_started": False}

        async def receive_counted() -> Message:
            message = await receive()
            info["bytes_in"] += len(message.get("body", b""))
            return message

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                info["response_started"] = True
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                info["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_counted, send_tagged)
        except Exception as exc:
            if info["response_started"]:
                access_logger.error("error after the response started (request id %s)", request_id,
                                    exc_info=exc)
                raise
            await error_response(exc, request_id)(scope, receive, send_tagged)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe_request(route, scope["method"], info["status"], elapsed)
            self._log(scope, request_id, route, info, elapsed)
            request_id_var.reset(token)

    @staticmethod
    def _log(scope: Scope, request_id: str, route: str, info: dict[str, Any], elapsed: float) -> None:
        client = scope.get("client")
        record = {
            "event": "request", "request_id": request_id, "method": scope["method"], "path": scope["path"],
            "route": route, "status": info["status"], "duration_ms": round(elapsed * 1000, 1),
            "bytes_in": info["bytes_in"], "bytes_out": info["bytes_out"],
            "client": f"{client[0]}:{client[1]}" if client else None,
            "model": scope.get("state", {}).get("model"),
        }
        access_logger.info(json.dumps(record, ensure_ascii=False))


class ApiKeyMiddleware:
    """``Authorization: Bearer <key>`` on every path but the open ones (and CORS preflights).

    WebSocket handshakes are checked too; there a browser, which cannot set headers, may
    offer the key as the subprotocol ``openai-insecure-api-key.<key>``. A refused handshake
    gets an HTTP 401 (or, where the server cannot send one, a close with code 1008 before
    accepting, which clients see as 403).
    """

    def __init__(self, app: ASGIApp, keys: Iterable[str], open_paths: Iterable[str]) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]
        self.open_paths = frozenset(open_paths)

    def _given_key(self, scope: Scope) -> str | None:
        header = _header(scope, b"authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        if scope["type"] == "websocket":
            for protocol in scope.get("subprotocols") or ():
                key = protocol[len(KEY_SUBPROTOCOL_PREFIX):]
                if protocol.startswith(KEY_SUBPROTOCOL_PREFIX) and key:
                    return str(key)
        return None

    def _authorised(self, scope: Scope) -> bool:
        token = self._given_key(scope)
        if token is None:
            return False
        given = token.encode()
        # compare against every key (no early exit) so timing does not tell which one matched
        return sum(hmac.compare_digest(given, key) for key in self.keys) > 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and self.keys and not self._authorised(scope):
            await self._refuse_websocket(scope, receive, send)
            return
        if (scope["type"] != "http" or not self.keys or scope["method"] == "OPTIONS"
                or scope["path"] in self.open_paths or self._authorised(scope)):
            await self.app(scope, receive, send)
            return
        has_header = _header(scope, b"authorization") is not None
        message = ("Incorrect API key provided." if has_header else
                   "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.")
        request_id = str(scope.get("state", {}).get("request_id", "-"))
        await error_response(AuthenticationFailed(message), request_id)(scope, receive, send)

    async def _refuse_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()  # websocket.connect
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        failure = AuthenticationFailed(
            "You didn't provide a valid API key. Send 'Authorization: Bearer <key>' "
            f"or the subprotocol '{KEY_SUBPROTOCOL_PREFIX}<key>'.")
        body = json.dumps(failure.to_openai()).encode()
        await send({"type": "websocket.http.response.start", "status": failure.http_status, "headers": [
            (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "websocket.http.response.body", "body": body})
