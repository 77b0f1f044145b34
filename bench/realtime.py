"""Realtime benchmark: live transcription latency over ``/v1/realtime`` at real-time pace.

Each session is what a microphone client does: connect to
``/v1/realtime?intent=transcription`` (plain ``websockets`` client, GA dialect), send
``session.update`` (PCM16 at 24 kHz, server VAD), then jfk.wav as 100 ms
``input_audio_buffer.append`` chunks, one every 100 ms on an absolute schedule, and then
silence at the same pace (at least 1 s of it) until every turn's ``completed`` has arrived.
The server's VAD (silence 500 ms) cuts jfk's sentence at its pauses into several turns.

Latency is measured from the end of speech (the moment the chunk holding jfk's last
word, which ends at 10.62 s, was sent) to the last turn's ``...transcription.completed``;
the server's own ``speech_stopped`` -> ``completed`` of that turn is reported too.
Levels run 1 and 4 concurrent sessions (all starting together: their turns end at the
same moment, the worst case) for each model and server layout (STATES x THREADS; the
server's default on 2 cores is 1x2). CPU use is the server process's user+system time
(all threads, from /proc) per second of audio sent.

    .venv/bin/python bench/realtime.py [--models tiny.en whisper-1] [--sessions 1 4]
        [--rounds 3] [--layouts 1x2 2x1]

Before each level it waits (up to 2 min) for idle cores unless ``BENCH_NO_WAIT=1``.
Writes bench/results/realtime.json. Data: jfk.wav from ``vendor/whisper.cpp/samples``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLK_TCK, JFK, _busy_seconds, load_average, normalize, table, wait_for_quiet, write_json
from soak import free_port, start_server

RATE = 24_000
CHUNK_MS = 100
SPEECH_END_MS = 10_620  # jfk.wav's last word ends here (Silero: 8.16-10.62 s)
MIN_SILENCE_MS = 1_000
TURN_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 60.0
PHRASE = "ask not what your country can do for you"


def jfk_pcm24k() -> bytes:
    """jfk.wav as 16-bit PCM at 24 kHz (linear interpolation: upsampling cannot alias)."""
    from localwhisper.audio import decode_audio

    samples = decode_audio(JFK)
    times = np.arange(int(len(samples) * RATE / 16_000)) / RATE
    resampled = np.interp(times, np.arange(len(samples)) / 16_000, samples)
    return (np.clip(resampled, -1, 1) * 32767).astype("<i2").tobytes()


def chunks(pcm: bytes) -> list[bytes]:
    size = RATE * CHUNK_MS // 1000 * 2
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def session_update(model: str) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
        "format": {"type": "audio/pcm", "rate": RATE},
        "transcription": {"model": model, "language": "en"},
        "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                           "silence_duration_ms": 500}}}}}


class Turns:
    """The server's events of one session, per item: when its speech stopped and its text came."""

    def __init__(self) -> None:
        self.order: list[str] = []  # item ids in the order their speech started
        self.stopped: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.text: dict[str, str] = {}
        self.errors: list[Any] = []

    def note(self, event: dict[str, Any]) -> None:
        kind, item = event["type"], event.get("item_id", "")
        now = time.perf_counter()
        if kind == "input_audio_buffer.speech_started":
            self.order.append(item)
        elif kind == "input_audio_buffer.speech_stopped":
            self.stopped[item] = now
        elif kind.endswith("input_audio_transcription.completed"):
            self.completed[item] = now
            self.text[item] = event["transcript"]
        elif kind == "error" or kind.endswith("input_audio_transcription.failed"):
            self.errors.append(event.get("error"))

    def all_done(self) -> bool:
        return bool(self.order) and all(item in self.completed for item in self.order)


async def one_session(port: int, model: str, speech: list[bytes]) -> dict[str, Any]:
    """One client at real-time pace: speech, then silence until every turn is transcribed.

    The server's VAD may cut jfk's sentence at its pauses into several turns; the latency is
    that of the last turn, the one the end of speech closes.
    """
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/v1/realtime?intent=transcription&model={model}"
    silence = bytes(len(speech[0]))
    speech_end_chunk = -(-SPEECH_END_MS // CHUNK_MS) - 1  # the chunk that holds the last word
    turns = Turns()
    speech_end_sent = 0.0
    # no client keepalive pings: a server too busy to answer one in time is slow, not gone
    async with connect(url, subprotocols=["realtime"], max_size=None,  # type: ignore[list-item]
                       open_timeout=CONNECT_TIMEOUT_S, ping_interval=None) as socket:
        await socket.send(json.dumps(session_update(model)))
        while json.loads(await socket.recv()).get("type") not in ("session.updated",
                                                                   "transcription_session.updated"):
            pass

        async def receive() -> None:
            async for message in socket:
                turns.note(json.loads(message))

        receiver = asyncio.create_task(receive())
        started = time.perf_counter()
        index = 0
        while not turns.errors and not (index * CHUNK_MS >= SPEECH_END_MS + MIN_SILENCE_MS
                                        and turns.all_done()):
            if time.perf_counter() - started > TURN_TIMEOUT_S:
                turns.errors.append("timed out")
                break
            delay = started + index * CHUNK_MS / 1000 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = speech[index] if index < len(speech) else silence
            await socket.send(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(chunk).decode()}))
            if index == speech_end_chunk:
                speech_end_sent = time.perf_counter()
            index += 1
        receiver.cancel()
    result: dict[str, Any] = {"audio_s": index * CHUNK_MS / 1000, "turns": len(turns.order),
                              "transcript": " ".join(turns.text.get(item, "") for item in turns.order)}
    if turns.errors:
        result["error"] = turns.errors[0]
    elif turns.order:
        last = turns.order[-1]
        result["latency_s"] = turns.completed[last] - speech_end_sent
        if last in turns.stopped:
            result["stopped_to_completed_s"] = turns.completed[last] - turns.stopped[last]
    return result


async def guarded_session(port: int, model: str, speech: list[bytes]) -> dict[str, Any]:
    """A session whose failure (a refused or timed-out connection) is a row entry, not a crash."""
    from websockets.exceptions import WebSocketException

    try:
        return await one_session(port, model, speech)
    except (OSError, TimeoutError, WebSocketException) as exc:
        return {"audio_s": 0.0, "turns": 0, "transcript": "", "error": f"{type(exc).__name__}: {exc}"}


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def server_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (all threads)


async def level(port: int, pid: int, model: str, sessions: int, rounds: int,
                speech: list[bytes]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    load_before = load_average()
    cpu_before, busy_before, own_before = server_cpu_s(pid), _busy_seconds(), sum(os.times()[:2])
    for _ in range(rounds):
        results += await asyncio.gather(*(guarded_session(port, model, speech) for _ in range(sessions)))
    server_cpu = server_cpu_s(pid) - cpu_before
    others = _busy_seconds() - busy_before - server_cpu - (sum(os.times()[:2]) - own_before)
    latencies = [r["latency_s"] for r in results if "latency_s" in r]
    decode = [r["stopped_to_completed_s"] for r in results if "stopped_to_completed_s" in r]
    audio_s = sum(r["audio_s"] for r in results)
    return {"model": model, "sessions": sessions, "sessions_run": len(results),
            "turns_per_session": round(sum(r["turns"] for r in results) / len(results), 1),
            "correct": sum(PHRASE in normalize(r.get("transcript", "")) for r in results),
            "failed": sum("error" in r for r in results),
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
            "stopped_p50_s": percentile(decode, 50), "stopped_p95_s": percentile(decode, 95),
            "server_cpu_per_audio_s": round(server_cpu / audio_s, 3) if audio_s else None,
            "others_cpu_s": round(max(0.0, others), 1), "load_before": round(load_before, 2),
            "errors": sorted({str(r["error"]) for r in results if "error" in r})[:3]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "whisper-1"])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=3, help="turns per session at each level")
    parser.add_argument("--layouts", nargs="+", default=["1x2", "2x1"],
                        help="server layouts as STATESxTHREADS")
    args = parser.parse_args(argv)
    speech = chunks(jfk_pcm24k())
    rows: list[dict[str, Any]] = []
    for layout in args.layouts:
        states, threads = (int(part) for part in layout.split("x"))
        port = free_port()
        server: subprocess.Popen[bytes] = start_server(
            port, Path(tempfile.mkdtemp(prefix="localwhisper-bench-")), states, threads)
        try:
            for model in args.models:
                asyncio.run(one_session(port, model, speech))  # warm-up: loads the model
                for sessions in args.sessions:
                    if not os.environ.get("BENCH_NO_WAIT"):  # BENCH_NO_WAIT=1: development runs
                        wait_for_quiet(max_wait_s=120)
                    row = asyncio.run(level(port, server.pid, model, sessions, args.rounds, speech))
                    rows.append({"layout": layout, **row})
                    print(table([rows[-1]]), flush=True)
        finally:
            server.terminate()
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    columns = ["layout", "model", "sessions", "sessions_run", "turns_per_session", "correct", "failed",
               "p50_s", "p95_s", "stopped_p50_s", "stopped_p95_s", "server_cpu_per_audio_s", "others_cpu_s",
               "load_before"]
    print(table(rows, columns, title="realtime: end of speech -> completed, jfk.wav at real-time pace"))
    write_json("realtime", {"chunk_ms": CHUNK_MS, "speech_end_ms": SPEECH_END_MS,
                            "session": session_update("MODEL")["session"],
                            "niced": os.nice(0) > 0,
                            "waited_for_quiet": not os.environ.get("BENCH_NO_WAIT"), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
