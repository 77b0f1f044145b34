"""The one place where exceptions become HTTP responses, in OpenAI's error shape.

``{"error": {"message", "type", "param", "code"}}`` for every failure: a
:class:`~localwhisper.errors.LocalWhisperError` uses its own status/type/code;
Starlette's routing errors (404 path, 405 method) are mapped likewise; anything
unexpected is a 500 with a generic message naming the request id, and its traceback
is logged. User input can only reach the first two kinds.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from localwhisper.errors import (
    AuthenticationFailed,
    FileTooLarge,
    LocalWhisperError,
    RequestTimeout,
    ServerBusy,
    TranscriptionAborted,
)

logger = logging.getLogger("localwhisper.server")
RETRY_AFTER_S = 1
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that went away; never actually sent
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_payload(exc: BaseException, request_id: str = "-") -> dict[str, Any]:
    """The OpenAI error object for ``exc`` (for JSON bodies and mid-stream SSE events)."""
    if isinstance(exc, LocalWhisperError):
        return exc.to_openai()
    return error_body(f"The server had an error while processing the request (request id {request_id}).",
                      "server_error", "internal_error")


def error_response(exc: BaseException, request_id: str = "-") -> Response:
    """The complete response for ``exc``; logs server-side failures with their traceback."""
    if not isinstance(exc, LocalWhisperError):
        logger.error("unhandled error (request id %s)", request_id, exc_info=exc)
        return JSONResponse(error_payload(exc, request_id), status_code=500)
    headers: dict[str, str] = {}
    if isinstance(exc, ServerBusy):
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if isinstance(exc, (FileTooLarge, RequestTimeout)):
        headers["Connection"] = "close"  # the rest of the body is not read: do not reuse the connection
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if exc.http_status >= 500:
        logger.error("%s (request id %s)", exc.message, request_id, exc_info=exc)
    return JSONResponse(exc.to_openai(), status_code=exc.http_status, headers=headers)


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


async def _on_localwhisper_error(request: Request, exc: Exception) -> Response:
    return error_response(exc, request_id_of(request))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal Server Error"
    headers = exc.headers if isinstance(exc, HTTPException) else None
    body = error_body(str(detail), "invalid_request_error" if status < 500 else "server_error",
                      _HTTP_CODES.get(status, "invalid_request"))
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_client_disconnect(request: Request, exc: Exception) -> Response:
    logger.info("client disconnected before the request was complete (request id %s)", request_id_of(request))
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _on_aborted(request: Request, exc: Exception) -> Response:
    return Response(status_code=CLIENT_CLOSED_REQUEST)


EXCEPTION_HANDLERS = {
    TranscriptionAborted: _on_aborted,
    LocalWhisperError: _on_localwhisper_error,
    HTTPException: _on_http_exception,
    ClientDisconnect: _on_client_disconnect,
}
