"""One exception hierarchy for the whole project, mapped to OpenAI errors here.

Every error a user can cause derives from :class:`LocalWhisperError` and
carries its HTTP status, OpenAI error ``type`` and ``code``; the server's single
error handler calls :meth:`LocalWhisperError.to_openai` and nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LocalWhisperError(Exception):
    """Base class. ``param`` names the request field at fault, when one is."""

    http_status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def to_openai(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type,
                          "param": self.param, "code": self.code}}


# --- 4xx: the caller's fault ------------------------------------------------

class InvalidRequest(LocalWhisperError):
    http_status = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class InvalidAudio(InvalidRequest):
    """The bytes are not decodable audio (empty, truncated, not audio, no audio stream)."""

    code = "invalid_audio"


class AudioTooLong(InvalidAudio):
    code = "audio_too_long"


class InvalidValue(InvalidRequest):
    """A field is present and well-formed but its value is out of range."""

    http_status = 422
    code = "invalid_value"


class InvalidEvent(InvalidRequest):
    """A realtime client event that cannot be applied; the session answers it and goes on.

    ``code`` names the fault (``invalid_json``, ``unsupported_event``, ...), which varies
    per event where the other errors' codes are fixed per class.
    """

    def __init__(self, message: str, *, code: str = "invalid_event", param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.event_code = code

    def to_openai(self) -> dict[str, Any]:
        payload = super().to_openai()
        payload["error"]["code"] = self.event_code
        return payload


class AuthenticationFailed(LocalWhisperError):
    http_status = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class ModelNotFound(LocalWhisperError):
    http_status = 404
    error_type = "invalid_request_error"
    code = "model_not_found"

    def __init__(self, name: str, *, param: str | None = "model", hint: str = "") -> None:
        message = f"The model '{name}' does not exist or is not configured."
        super().__init__(message + (f" {hint}" if hint else ""), param=param)
        self.name = name


class NotFound(LocalWhisperError):
    http_status = 404
    error_type = "invalid_request_error"
    code = "not_found"


class FileTooLarge(LocalWhisperError):
    http_status = 413
    error_type = "invalid_request_error"
    code = "file_too_large"


class UnsupportedMediaType(LocalWhisperError):
    http_status = 415
    error_type = "invalid_request_error"
    code = "unsupported_media_type"


class RequestTimeout(LocalWhisperError):
    """The client sent its request body too slowly (the server closes the connection)."""

    http_status = 408
    error_type = "invalid_request_error"
    code = "request_timeout"


class TranscriptionAborted(LocalWhisperError):
    """The caller (or a disconnected client) cancelled the transcription."""

    http_status = 499
    error_type = "invalid_request_error"
    code = "aborted"


# --- 5xx: ours or capacity ---------------------------------------------------

class ServerBusy(LocalWhisperError):
    http_status = 503
    error_type = "server_error"
    code = "server_busy"


class ProcessingTimeout(LocalWhisperError):
    """A transcription ran past the server's time limit and was aborted."""

    http_status = 504
    error_type = "server_error"
    code = "timeout"


class ModelConfigError(LocalWhisperError):
    """A models/*.yaml file is malformed (names the file and key)."""

    code = "model_config_error"


class ModelLoadError(LocalWhisperError):
    code = "model_load_error"


class DeviceUnavailable(ModelLoadError):
    """The device setting asks for a GPU this build or machine lacks (names the reason)."""

    code = "device_unavailable"


class ModelAcquisitionError(LocalWhisperError):
    """Download, verification, conversion or quantisation of a model failed."""

    code = "model_acquisition_error"


class BatchError(LocalWhisperError):
    """A batch cannot start or go on: its output folder is locked, its workers cannot start, Ray is absent."""

    code = "batch_error"


class NativeLibraryError(LocalWhisperError):
    """libwhisper could not be loaded or failed a call."""

    code = "native_error"
