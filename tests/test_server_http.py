"""The server over raw HTTP: curl, hostile inputs, limits, timeouts, disconnects, concurrency, memory."""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import (
    JFK_WAV,
    SERVER_MODELS_DIR,
    SERVER_READ_TIMEOUT_S,
    RunningServer,
    plain_words,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.server

JFK_PHRASE = "ask not what your country can do for you"
MAX_UPLOAD = 26_214_400
FORM_OVERHEAD = 1 << 20
BOUNDARY = "localwhisper-test-boundary"


# --- helpers --------------------------------------------------------------------------------------

def post(server: RunningServer, *, fields: dict[str, str] | None = None, files: dict | None = None,
         headers: dict[str, str] | None = None, path: str = "/v1/audio/transcriptions", **kwargs: object
         ) -> httpx.Response:
    if files is None:
        files = {"file": ("jfk.wav", JFK_WAV.read_bytes(), "audio/wav")}
    return httpx.post(server.url + path, data=fields or {"model": "tiny.en"}, files=files, headers=headers,
                      timeout=120, **kwargs)


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None,
                        param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    assert response.headers["x-request-id"]


def assert_still_serving(server: RunningServer) -> None:
    assert httpx.get(server.url + "/health", timeout=10).json() == {"status": "ok"}


def form_prefix(model: str = "tiny.en", filename: str = "big.wav") -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\n{model}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()


def form_suffix() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def request_head(content_length: int | None = None, *, chunked: bool = False) -> bytes:
    lines = ["POST /v1/audio/transcriptions HTTP/1.1", "Host: 127.0.0.1",
             f"Content-Type: multipart/form-data; boundary={BOUNDARY}"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """Whatever the server sent until it closed (a reset after the response is fine)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def send_until_answered(sock: socket.socket, stream: Iterator[bytes]) -> int:
    """Send ``stream`` until the server answers (socket readable); returns the bytes sent."""
    sock.setblocking(False)
    sent, pending = 0, b""
    while True:
        readable, writable, _ = select.select([sock], [sock], [], 10)
        if readable:
            return sent
        if not writable:
            raise AssertionError("the server neither read nor answered for 10 s")
        if not pending:
            pending = next(stream, b"")
            if not pending:
                return sent
        try:
            n = sock.send(pending)
        except BlockingIOError:
            continue
        sent, pending = sent + n, pending[n:]


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
    assert match, response[:200]
    return int(match.group(1))


def access_log_line(server: RunningServer, request_id: str) -> str:
    """The request's access-log line (written just after its response, so wait for it briefly)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in server.log().splitlines() if f'"request_id": "{request_id}"' in line]
        if lines:
            return lines[-1]
        assert time.monotonic() < deadline, f"no access log line for {request_id}"
        time.sleep(0.05)


def metric(server: RunningServer, name: str, **labels: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")):
            head, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                return float(value)
    if label_text and name.endswith("_total"):
        return 0.0
    raise LookupError(f"{name}{{{label_text}}} not in /metrics")


def open_files(server: RunningServer) -> list[str]:
    """Targets of the server's open fds that are files (not sockets, pipes, the event loop)."""
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    targets = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("/") or "(deleted)" in target:
            targets.append(target)
    return sorted(targets)


# --- the form, by hand ----------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_multipart(server: RunningServer) -> None:
    base = ["curl", "-sS", "--max-time", "120", "-F", f"file=@{JFK_WAV}", "-F", "model=tiny.en"]
    out = subprocess.run([*base, server.url + "/v1/audio/transcriptions"], capture_output=True, text=True,
                         check=True).stdout
    assert JFK_PHRASE in plain_words(httpx.Response(200, content=out).json()["text"])
    text = subprocess.run([*base, "-F", "response_format=text", "-D", "-", "-H", "Expect:", "-H",
                           "X-Request-ID: curl-test-1", server.url + "/v1/audio/transcriptions"],
                          capture_output=True, check=True).stdout.decode()  # bytes: keep the CRLFs
    head, _, body = text.partition("\r\n\r\n")
    assert "x-request-id: curl-test-1" in head.lower()
    assert "text/plain" in head.lower()
    assert JFK_PHRASE in plain_words(body)
    assert '"status": 200' in access_log_line(server, "curl-test-1")


# --- hostile inputs: the right OpenAI error, and the server keeps serving --------------------------

def _wav_header_only() -> bytes:
    return JFK_WAV.read_bytes()[:30]


HOSTILE = {
    "empty file": dict(files={"file": ("empty.wav", b"", "audio/wav")}, status=400, code="invalid_audio",
                       param="file"),
    "truncated wav header": dict(files={"file": ("cut.wav", _wav_header_only(), "audio/wav")}, status=400,
                                 code="invalid_audio", param="file"),
    "random bytes as mp3": dict(files={"file": ("noise.mp3", os.urandom(200_000), "audio/mpeg")}, status=400,
                                code="invalid_audio", param="file"),
    "file under another name": dict(files={"audio": ("jfk.wav", b"RIFF....", "audio/wav")}, status=400,
                                    param="file"),
    "missing model": dict(fields={"language": "en"}, status=400, param="model"),
    "unknown model": dict(fields={"model": "whisper-9"}, status=404, code="model_not_found", param="model"),
    "model as relative path": dict(fields={"model": "../../etc/passwd"}, status=404, code="model_not_found"),
    "model as absolute path": dict(fields={"model": str(JFK_WAV)}, status=404, code="model_not_found"),
    "huge temperature": dict(fields={"model": "tiny.en", "temperature": "1e9"}, status=422,
                             param="temperature"),
    "temperature not a number": dict(fields={"model": "tiny.en", "temperature": "warm"}, status=400,
                                     param="temperature"),
    "unknown response format": dict(fields={"model": "tiny.en", "response_format": "docx"}, status=400,
                                    param="response_format"),
    "words with json": dict(fields={"model": "tiny.en", "timestamp_granularities[]": "word"}, status=400,
                            param="timestamp_granularities"),
    "stream not a boolean": dict(fields={"model": "tiny.en", "stream": "maybe"}, status=400, param="stream"),
    "stream with srt": dict(fields={"model": "tiny.en", "stream": "true", "response_format": "srt"},
                            status=400, param="stream"),
    "bad chunking strategy": dict(fields={"model": "tiny.en", "chunking_strategy": "sometimes"}, status=400,
                                  param="chunking_strategy"),
    "vad threshold out of range": dict(fields={"model": "tiny.en", "chunking_strategy[type]": "server_vad",
                                               "chunking_strategy[threshold]": "7"}, status=422),
    "beam size out of range": dict(fields={"model": "tiny.en", "beam_size": "1000"}, status=422,
                                   param="beam_size"),
    "unknown language": dict(fields={"model": "tiny.en", "language": "klingon"}, status=422,
                             param="language"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_form_inputs(server: RunningServer, case: str) -> None:
    spec = HOSTILE[case]
    response = post(server, fields=spec.get("fields"), files=spec.get("files"))
    assert_openai_error(response, spec["status"], spec.get("code"), spec.get("param"))
    assert_still_serving(server)


@pytest.mark.parametrize(("content_type", "body", "status"), [
    ("application/json", b'{"model": "tiny.en"}', 415),
    ("text/plain", b"hello", 415),
    ("multipart/form-data", b"--x\r\n", 400),  # no boundary parameter
    (f"multipart/form-data; boundary={BOUNDARY}", b"--" + BOUNDARY.encode() + b"\r\nContent-Disp", 400),
    (f"multipart/form-data; boundary={BOUNDARY}", b"no boundary in here at all", 400),
])
def test_non_multipart_and_malformed_bodies(server: RunningServer, content_type: str, body: bytes,
                                            status: int) -> None:
    response = httpx.post(server.url + "/v1/audio/transcriptions", content=body,
                          headers={"Content-Type": content_type}, timeout=30)
    assert_openai_error(response, status)
    assert_still_serving(server)


def test_routing_errors_are_openai_shaped(server: RunningServer) -> None:
    assert_openai_error(httpx.get(server.url + "/v1/nothing-here", timeout=10), 404, "not_found")
    assert_openai_error(httpx.get(server.url + "/v1/audio/transcriptions", timeout=10), 405,
                        "method_not_allowed")


# --- size cap, enforced while the body streams in --------------------------------------------------

def test_declared_oversized_upload_is_refused_before_reading(server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_head(100 * MAX_UPLOAD) + form_prefix())
        response = read_response(sock, 10)
    assert status_of(response) == 413
    assert b'"code":"file_too_large"' in response
    assert_still_serving(server)


def test_streamed_oversized_upload_is_cut_off_at_the_cap(server: RunningServer) -> None:
    """26 MiB+ without Content-Length (chunked): refused once the cap is crossed, not after."""
    total = 40 << 20

    def chunked_body() -> Iterator[bytes]:
        yield b"%x\r\n%s\r\n" % (len(form_prefix()), form_prefix())
        zeros = bytes(1 << 16)
        for _ in range(total // len(zeros)):
            yield b"%x\r\n%s\r\n" % (len(zeros), zeros)
        yield b"%x\r\n%s\r\n0\r\n\r\n" % (len(form_suffix()), form_suffix())

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_head(chunked=True))
        sent = send_until_answered(sock, chunked_body())
        response = read_response(sock, 10)
    assert status_of(response) == 413
    assert sent < total, "the server read the whole oversized body"
    bytes_in = int(re.search(r'"bytes_in": (\d+)', access_log_line(server, _request_id(response))).group(1))
    assert MAX_UPLOAD < bytes_in <= MAX_UPLOAD + FORM_OVERHEAD
    assert_still_serving(server)


def _request_id(response: bytes) -> str:
    match = re.search(rb"x-request-id: ([\w.:-]+)", response, re.IGNORECASE)
    assert match, response[:300]
    return match.group(1).decode()


def test_uploads_leave_no_open_or_stray_files(server: RunningServer) -> None:
    before = open_files(server)
    big = bytes(3 << 20)  # over the 1 MiB in-memory spool: goes to a temporary file
    assert post(server, files={"file": ("big.wav", big, "audio/wav")}).status_code == 400
    unknown_model = post(server, fields={"model": "nope"}, files={"file": ("big.wav", big, "audio/wav")})
    assert unknown_model.status_code == 404
    assert post(server).status_code == 200
    after = open_files(server)
    assert after == before
    assert not [t for t in after if "(deleted)" in t]


# --- slow clients, disconnects -------------------------------------------------------------------

def test_slow_client_times_out_without_blocking_others(server: RunningServer) -> None:
    body = form_prefix() + JFK_WAV.read_bytes() + form_suffix()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_head(len(body)) + body[:1000])  # then stall
        started = time.monotonic()
        assert_still_serving(server)
        other = post(server)
        assert other.status_code == 200 and JFK_PHRASE in plain_words(other.json()["text"])
        response = read_response(sock, SERVER_READ_TIMEOUT_S + 10)
        waited = time.monotonic() - started
    assert status_of(response) == 408
    assert b'"code":"request_timeout"' in response
    assert b"connection: close" in response.lower()
    assert waited >= SERVER_READ_TIMEOUT_S - 0.5


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_client_disconnect_aborts_the_native_job(server: RunningServer, stream: bool,
                                                 long_flac: Path) -> None:
    stream_field = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="stream"\r\n\r\n'
                    f"{str(stream).lower()}\r\n")
    body = stream_field.encode() + form_prefix(filename="long.flac") + long_flac.read_bytes() + form_suffix()
    aborted_before = metric(server, "localwhisper_transcriptions_total", model="tiny.en", task="transcribe",
                            outcome="disconnected")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(request_head(len(body)) + body)
        deadline = time.monotonic() + 60
        while metric(server, "localwhisper_transcriptions_in_flight", model="tiny.en") < 1:
            assert time.monotonic() < deadline, "the long transcription never started"
            time.sleep(0.1)
        time.sleep(0.5)  # well into decoding
    finally:
        sock.close()
    closed = time.monotonic()
    while metric(server, "localwhisper_transcriptions_in_flight", model="tiny.en") > 0:
        assert time.monotonic() - closed < 10, "the native job kept running after the client left"
        time.sleep(0.05)
    assert metric(server, "localwhisper_transcriptions_total", model="tiny.en", task="transcribe",
                  outcome="disconnected") == aborted_before + 1
    assert_still_serving(server)


# --- operations -----------------------------------------------------------------------------------

def test_health_ready_metrics(server: RunningServer) -> None:
    assert httpx.get(server.url + "/health", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready", timeout=10)
    assert ready.status_code == 200 and "tiny.en" in ready.json()["models"]
    post(server)
    metrics = httpx.get(server.url + "/metrics", timeout=10)
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in ("localwhisper_http_requests_total", "localwhisper_real_time_factor_bucket",
                 "localwhisper_audio_seconds_total", "localwhisper_queue_depth",
                 "localwhisper_transcriptions_in_flight"):
        assert name in metrics.text, name
    assert metric(server, "localwhisper_audio_seconds_total", model="tiny.en", task="transcribe") >= 11


def test_load_unload_and_readiness(server: RunningServer) -> None:
    url = server.url + "/v1/models"
    try:
        for name in ("tiny.en", "whisper-1"):
            assert httpx.post(f"{url}/{name}/unload", timeout=30).json()["loaded"] is False
        assert httpx.get(server.url + "/ready", timeout=10).status_code == 503
        assert httpx.get(f"{url}/tiny.en", timeout=10).json()["loaded"] is False
    finally:
        loaded = httpx.post(f"{url}/tiny.en/load", timeout=60)
    assert loaded.status_code == 200 and loaded.json()["loaded"] is True
    assert httpx.get(server.url + "/ready", timeout=10).status_code == 200
    assert_openai_error(httpx.post(f"{url}/../../etc/passwd/load", timeout=10), 404)
    assert_openai_error(httpx.post(f"{url}/no-such-model/load", timeout=10), 404, "model_not_found")


# --- a second server: API keys, CORS, concurrency and memory ---------------------------------------

API_KEY = "test-key-0123456789"
ORIGIN = "http://app.example.test"


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("secured") / "server.log", "--api-key", API_KEY,
                           "--cors-origin", ORIGIN)
    yield running
    stop_server(running)


def test_concurrent_requests_share_one_copy_of_the_weights(secured_server: RunningServer) -> None:
    """8 at once on 2 states: all correct; memory grows by states and working buffers, not weights."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    loaded_kib = secured_server.proc_status_kib("VmRSS")
    assert post(secured_server, headers=auth).status_code == 200
    one_state_kib = secured_server.proc_status_kib("VmRSS") - loaded_kib  # a state plus one request's buffers
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post(secured_server, headers=auth), range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert all(JFK_PHRASE in plain_words(r.json()["text"]) for r in responses)
    weights_kib = (SERVER_MODELS_DIR / "ggml-tiny.en.bin").stat().st_size // 1024
    peak_kib = secured_server.proc_status_kib("VmHWM")
    states = 2
    per_request_kib = 24 << 10  # decoded audio, PyAV and per-thread heap of a request
    budget_kib = loaded_kib + states * one_state_kib + 8 * per_request_kib
    print(f"RSS: loaded {loaded_kib >> 10} MiB, +{one_state_kib >> 10} MiB after one request, "
          f"peak {peak_kib >> 10} MiB, budget {budget_kib >> 10} MiB")
    assert peak_kib <= budget_kib, (
        f"peak RSS {peak_kib >> 10} MiB over the budget {budget_kib >> 10} MiB "
        f"(loaded {loaded_kib >> 10} MiB, one state {one_state_kib >> 10} MiB, "
        f"weights {weights_kib >> 10} MiB)")


def test_api_keys(secured_server: RunningServer) -> None:
    url = secured_server.url
    assert_openai_error(httpx.get(url + "/v1/models", timeout=10), 401, "invalid_api_key")
    wrong = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert_openai_error(wrong, 401, "invalid_api_key")
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert_openai_error(post(secured_server), 401, "invalid_api_key")
    assert httpx.get(url + "/metrics", timeout=10).status_code == 401
    for path in ("/", "/health", "/ready"):
        assert httpx.get(url + path, timeout=10).status_code == 200, path
    good = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert good.status_code == 200


def test_cors(secured_server: RunningServer) -> None:
    preflight = httpx.options(secured_server.url + "/v1/audio/transcriptions", timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    denied = httpx.get(secured_server.url + "/health", headers={"Origin": "http://evil.test"}, timeout=10)
    assert "access-control-allow-origin" not in denied.headers
    unauthorised = httpx.get(secured_server.url + "/v1/models", headers={"Origin": ORIGIN}, timeout=10)
    assert unauthorised.status_code == 401
    assert unauthorised.headers["access-control-allow-origin"] == ORIGIN  # the browser can read the error


# --- graceful shutdown -------------------------------------------------------------------------

def test_graceful_shutdown_finishes_short_work_and_aborts_the_rest(tmp_path: Path, long_flac: Path) -> None:
    grace_s = 8
    running = start_server(tmp_path / "server.log", "--shutdown-timeout-s", str(grace_s))
    results: dict[str, object] = {}

    def call(name: str, audio: Path) -> None:
        try:
            results[name] = post(running, files={"file": (audio.name, audio.read_bytes(), "audio/x")})
        except httpx.HTTPError as exc:
            results[name] = exc

    threads = [threading.Thread(target=call, args=("long", long_flac)),
               threading.Thread(target=call, args=("short", JFK_WAV))]
    threads[0].start()
    deadline = time.monotonic() + 60
    while metric(running, "localwhisper_transcriptions_in_flight", model="tiny.en") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    threads[1].start()
    time.sleep(0.3)
    stopped = time.monotonic()
    code = stop_server(running)
    elapsed = time.monotonic() - stopped
    for thread in threads:
        thread.join(30)
    log = running.log()
    assert code in (0, -15), log[-3000:]
    assert elapsed < grace_s + 10, f"shutdown took {elapsed:.1f} s"
    short = results["short"]
    assert isinstance(short, httpx.Response) and short.status_code == 200, short
    assert JFK_PHRASE in plain_words(short.json()["text"])
    assert not (isinstance(results["long"], httpx.Response) and results["long"].status_code == 200)
    assert "shutdown complete" in log


# --- limits: a full queue, the request timeout (also mid-stream), idle unloading ------------------

def test_queue_full_request_timeout_and_idle_unload(tmp_path: Path, long_flac: Path) -> None:
    """One state, no queue: a second request is 503; the long one streams text until its time is up."""
    import openai

    running = start_server(tmp_path / "server.log", "--states", "1", "--max-queue", "0",
                           "--request-timeout-s", "8", "--idle-unload-s", "1")
    results: dict[str, object] = {}

    def streamed() -> None:
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=60)
        deltas = []
        try:
            with long_flac.open("rb") as audio:
                for event in client.audio.transcriptions.create(model="tiny.en", file=audio, stream=True):
                    deltas.append(event)
        except openai.APIError as exc:
            results["stream_error"] = exc
        finally:
            results["deltas"] = deltas
            client.close()

    try:
        call = threading.Thread(target=streamed)
        call.start()
        deadline = time.monotonic() + 60
        while "tiny.en" not in httpx.get(running.url + "/ready", timeout=10).text or metric(
                running, "localwhisper_transcriptions_in_flight", model="tiny.en") < 1:
            assert time.monotonic() < deadline, "the long transcription never started"
            time.sleep(0.05)
        busy = post(running)
        assert_openai_error(busy, 503, "server_busy")
        assert busy.headers["retry-after"] == "1"
        call.join(60)
        assert results["deltas"], f"no text was streamed before the timeout: {results.get('stream_error')!r}"
        error = results["stream_error"]
        assert isinstance(error, openai.APIError) and error.code == "timeout"  # an error event mid-stream

        deadline = time.monotonic() + 10
        while "unloaded model tiny.en after 1 s idle" not in running.log():
            assert time.monotonic() < deadline, "the idle model was not unloaded"
            time.sleep(0.1)
        assert httpx.get(running.url + "/ready", timeout=10).status_code == 503
        assert httpx.post(running.url + "/v1/models/tiny.en/load", timeout=60).status_code == 200
    finally:
        stop_server(running)
