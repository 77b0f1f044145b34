"""Server settings: defaults ← ``LOCALWHISPER_*`` environment variables ← ``serve`` flags.

=========================  ===================================  ========================  ==============
setting                    environment variable                 ``serve`` flag            default
=========================  ===================================  ========================  ==============
models_dir                 ``LOCALWHISPER_MODELS_DIR``          ``--models-dir``          ``./models``
host                       ``LOCALWHISPER_HOST``                ``--host``                ``127.0.0.1``
port                       ``LOCALWHISPER_PORT``                ``--port``                ``8080``
api_keys                   ``LOCALWHISPER_API_KEYS`` (commas)   ``--api-key`` (repeat)    none: no auth
api_keys_file              ``LOCALWHISPER_API_KEYS_FILE``       ``--api-keys-file``       none
cors_origins               ``LOCALWHISPER_CORS_ORIGINS``        ``--cors-origin``         none: no CORS
max_upload_bytes           ``LOCALWHISPER_MAX_UPLOAD_BYTES``    ``--max-upload-bytes``    26214400 (25 MiB)
max_audio_s                ``LOCALWHISPER_MAX_AUDIO_S``         ``--max-audio-s``         10800 (3 h)
preload                    ``LOCALWHISPER_PRELOAD`` (commas)    ``--preload`` (repeat)    none: lazy load
idle_unload_s              ``LOCALWHISPER_IDLE_UNLOAD_S``       ``--idle-unload-s``       0: never
n_states                   ``LOCALWHISPER_STATES``              ``--states``              auto (cores)
n_threads                  ``LOCALWHISPER_THREADS``             ``--threads``             auto (cores)
max_queue                  ``LOCALWHISPER_MAX_QUEUE``           ``--max-queue``           64
max_memory                 ``LOCALWHISPER_MAX_MEMORY``          ``--max-memory``          auto (cgroup limit)
read_timeout_s             ``LOCALWHISPER_READ_TIMEOUT_S``      ``--read-timeout-s``      30
request_timeout_s          ``LOCALWHISPER_REQUEST_TIMEOUT_S``   ``--request-timeout-s``   600
shutdown_timeout_s         ``LOCALWHISPER_SHUTDOWN_TIMEOUT_S``  ``--shutdown-timeout-s``  30
ensure_models              ``LOCALWHISPER_ENSURE_MODELS``       ``--no-ensure-models``    on
log_level                  ``LOCALWHISPER_LOG_LEVEL``           ``--log-level``           ``info``
device                     ``LOCALWHISPER_DEVICE``              ``--device``              ``auto``
=========================  ===================================  ========================  ==============

- ``api_keys``: when any key is set (directly or one per line in ``api_keys_file``; ``#``
  comments allowed), every ``/v1/*`` and ``/metrics`` request needs ``Authorization: Bearer
  <key>``; ``/``, ``/health`` and ``/ready`` stay open.
- ``max_memory``: a transcription is admitted only if resident memory plus what running ones
  may still take plus its estimate (about 90 MiB, 170 MiB with VAD) fits; otherwise 503 with
  ``Retry-After``. ``auto``: 90 % of the cgroup v2/v1 memory limit, else 80 % of RAM; ``off``.
- ``max_upload_bytes`` caps the uploaded file; it is enforced while the body streams in.
- ``max_audio_s`` caps the decoded duration (a small file cannot expand into hours).
- ``idle_unload_s``: a model unused for this long (and with nothing in flight) is unloaded.
- ``n_states``/``n_threads``: concurrent transcriptions per model and threads each; by default
  states × threads = the CPU cores (oversubscribing makes whisper.cpp 10–30× slower).
- ``max_queue``: requests allowed to wait per model for a free state; beyond it, 503 + Retry-After.
- ``read_timeout_s``: the longest pause allowed while receiving an upload (then 408 and close).
- ``request_timeout_s``: the longest a transcription may take, queueing included (then it is
  aborted: 503 if still queued, 504 if decoding); 0 = no limit.
- ``shutdown_timeout_s``: on SIGTERM/SIGINT, in-flight requests get this long to finish.
- ``ensure_models``: ``serve`` first makes sure the default models (whisper-1, tiny.en, the VAD
  model) are present, downloading or converting them; ``0``/``false`` skips that.
- ``/v1/realtime`` WebSocket sessions (table below): ``realtime_max_buffer_s`` caps the
  uncommitted audio a session holds (an append beyond it is refused with an error event);
  ``realtime_max_session_s`` ends a session after that long; ``realtime_idle_timeout_s`` ends
  one that sent nothing for that long while none of its audio is being transcribed.
- ``device``: ``auto`` (the first GPU of a CUDA build, else the CPU), ``cpu``, ``cuda`` or
  ``cuda:N``; an explicit GPU that is missing stops ``serve`` at start with the reason.
- Booleans accept ``1/0``, ``true/false``, ``yes/no``, ``on/off``.

=======================  ==========================================  ==============================  =====
setting                  environment variable                        ``serve`` flag                  default
=======================  ==========================================  ==============================  =====
realtime_max_buffer_s    ``LOCALWHISPER_REALTIME_MAX_BUFFER_S``      ``--realtime-max-buffer-s``     60
realtime_max_session_s   ``LOCALWHISPER_REALTIME_MAX_SESSION_S``     ``--realtime-max-session-s``    1800
realtime_idle_timeout_s  ``LOCALWHISPER_REALTIME_IDLE_TIMEOUT_S``    ``--realtime-idle-timeout-s``   60
=======================  ==========================================  ==============================  =====
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localwhisper.device import parse_device
from localwhisper.models.config import MODELS_DIR_ENV, default_models_dir

from .memory import parse_memory

ENV_PREFIX = "LOCALWHISPER_"
DEFAULT_MAX_UPLOAD_BYTES = 26_214_400  # OpenAI's 25 MiB
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ServerSettings:
    models_dir: Path = field(default_factory=default_models_dir)
    host: str = "127.0.0.1"
    port: int = 8080
    api_keys: tuple[str, ...] = ()
    api_keys_file: Path | None = None
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_audio_s: float = 3 * 3600.0
    preload: tuple[str, ...] = ()
    idle_unload_s: float = 0.0
    n_states: int | None = None
    n_threads: int | None = None
    max_queue: int = 64
    max_memory: int | None = None  # bytes; None = auto (cgroup limit or a share of RAM), 0 = off
    read_timeout_s: float = 30.0
    request_timeout_s: float = 600.0
    shutdown_timeout_s: float = 30.0
    ensure_models: bool = True
    log_level: str = "info"
    realtime_max_buffer_s: float = 60.0
    realtime_max_session_s: float = 1800.0
    realtime_idle_timeout_s: float = 60.0
    device: str = "auto"

    def __post_init__(self) -> None:
        checks = [
            (1 <= self.port <= 65535 or self.port == 0, "port must be 0..65535"),
            (self.max_upload_bytes > 0, "max_upload_bytes must be > 0"),
            (self.max_audio_s > 0, "max_audio_s must be > 0"),
            (self.idle_unload_s >= 0, "idle_unload_s must be >= 0"),
            (self.n_states is None or self.n_states >= 1, "n_states must be >= 1"),
            (self.n_threads is None or self.n_threads >= 1, "n_threads must be >= 1"),
            (self.max_queue >= 0, "max_queue must be >= 0"),
            (self.read_timeout_s > 0, "read_timeout_s must be > 0"),
            (self.request_timeout_s >= 0, "request_timeout_s must be >= 0"),
            (self.shutdown_timeout_s >= 0, "shutdown_timeout_s must be >= 0"),
            (self.realtime_max_buffer_s >= 1, "realtime_max_buffer_s must be >= 1"),
            (self.realtime_max_session_s > 0, "realtime_max_session_s must be > 0"),
            (self.realtime_idle_timeout_s > 0, "realtime_idle_timeout_s must be > 0"),
            (self.log_level in LOG_LEVELS, f"log_level must be one of {', '.join(LOG_LEVELS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def all_api_keys(self) -> tuple[str, ...]:
        """Keys given directly plus those in ``api_keys_file`` (read now, so edits apply on restart)."""
        keys = list(self.api_keys)
        if self.api_keys_file is not None:
            text = Path(self.api_keys_file).read_text(encoding="utf-8")
            keys += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return tuple(dict.fromkeys(k for k in keys if k))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        """Defaults, then ``LOCALWHISPER_*`` variables, then ``overrides`` (e.g. from CLI flags)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in SPECS:
            raw = environ.get(spec.env)
            if raw is not None and (raw.strip() or spec.parse is _parse_list):
                try:
                    values[spec.name] = spec.parse(raw)
                except ValueError as exc:
                    raise ValueError(f"{spec.env}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from parsed ``serve`` flags (see :func:`add_arguments`) over the environment."""
        args = normalise_args(argparse.Namespace(**vars(args)))
        overrides = {spec.name: getattr(args, spec.name) for spec in SPECS if hasattr(args, spec.name)}
        return cls.from_env(environ, **overrides)

    def replace(self, **changes: Any) -> ServerSettings:
        return dataclasses.replace(self, **changes)


# --- parsing -------------------------------------------------------------------------------------

def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _parse_optional_int(raw: str) -> int | None:
    return None if raw.strip().lower() in ("", "auto") else int(raw)


def _parse_level(raw: str) -> str:
    return raw.strip().lower()


@dataclass(frozen=True)
class _Spec:
    name: str
    parse: Callable[[str], Any]
    flag: str
    help: str
    repeat: bool = False  # flag may be given several times (a list setting)

    @property
    def env(self) -> str:
        return MODELS_DIR_ENV if self.name == "models_dir" else ENV_PREFIX + {
            "n_states": "STATES", "n_threads": "THREADS", "ensure_models": "ENSURE_MODELS",
        }.get(self.name, self.name.upper())


SPECS: tuple[_Spec, ...] = (
    _Spec("models_dir", Path, "--models-dir", "models directory (YAML configs and weights)"),
    _Spec("host", str, "--host", "interface to bind (default 127.0.0.1: this machine only)"),
    _Spec("port", int, "--port", "TCP port (default 8080; 0 = any free port)"),
    _Spec("api_keys", _parse_list, "--api-key", "accepted API key (repeatable); enables auth", repeat=True),
    _Spec("api_keys_file", Path, "--api-keys-file", "file with one API key per line"),
    _Spec("cors_origins", _parse_list, "--cors-origin", "allowed CORS origin (repeatable, '*' = any)",
          repeat=True),
    _Spec("max_upload_bytes", int, "--max-upload-bytes", "largest accepted upload (default 26214400)"),
    _Spec("max_audio_s", float, "--max-audio-s", "longest accepted decoded audio in seconds"),
    _Spec("preload", _parse_list, "--preload", "model to load at startup (repeatable)", repeat=True),
    _Spec("idle_unload_s", float, "--idle-unload-s", "unload models idle this many seconds (0 = never)"),
    _Spec("n_states", _parse_optional_int, "--states", "concurrent transcriptions per model"),
    _Spec("n_threads", _parse_optional_int, "--threads", "threads per transcription"),
    _Spec("max_queue", int, "--max-queue", "requests that may wait per model before 503"),
    _Spec("max_memory", parse_memory, "--max-memory",
          "memory budget: 2G, 1500M, auto (90%% of the cgroup limit, else 80%% of RAM) or off"),
    _Spec("read_timeout_s", float, "--read-timeout-s", "longest pause while receiving an upload"),
    _Spec("request_timeout_s", float, "--request-timeout-s", "longest transcription, queueing included"),
    _Spec("shutdown_timeout_s", float, "--shutdown-timeout-s", "grace period for in-flight requests"),
    _Spec("ensure_models", _parse_bool, "--no-ensure-models", "do not fetch missing default models"),
    _Spec("log_level", _parse_level, "--log-level", "log level (default info)"),
    _Spec("realtime_max_buffer_s", float, "--realtime-max-buffer-s",
          "uncommitted audio a realtime session may hold, in seconds"),
    _Spec("realtime_max_session_s", float, "--realtime-max-session-s",
          "longest realtime session, in seconds"),
    _Spec("realtime_idle_timeout_s", float, "--realtime-idle-timeout-s",
          "close a realtime session idle this many seconds"),
    _Spec("device", parse_device, "--device", "compute device: auto, cpu, cuda or cuda:N (default auto)"),
)


def add_arguments(parser: argparse.ArgumentParser, specs: Sequence[_Spec] = SPECS) -> None:
    """Add one flag per setting; absent flags leave the environment/default in force."""
    for spec in specs:
        if spec.name == "ensure_models":
            parser.add_argument(spec.flag, dest=spec.name, action="store_const", const=False,
                                default=argparse.SUPPRESS, help=f"{spec.help} (env {spec.env})")
        elif spec.repeat:
            parser.add_argument(spec.flag, dest=spec.name, action="append", type=str,
                                default=argparse.SUPPRESS, help=f"{spec.help} (env {spec.env})")
        else:
            parser.add_argument(spec.flag, dest=spec.name, type=spec.parse, default=argparse.SUPPRESS,
                                choices=LOG_LEVELS if spec.name == "log_level" else None,
                                help=f"{spec.help} (env {spec.env})")


def normalise_args(args: argparse.Namespace) -> argparse.Namespace:
    """Repeated flags arrive as lists (each may itself hold commas): flatten into tuples."""
    for spec in SPECS:
        if spec.repeat and hasattr(args, spec.name):
            setattr(args, spec.name, tuple(item for raw in getattr(args, spec.name)
                                           for item in _parse_list(raw)))
    return args
