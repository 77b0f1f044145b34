"""``/v1/realtime`` on a real server socket: the official openai client (GA and beta), plain
``websockets`` clients (G.711 μ-law, hostile frames, dropped clients) and API-key auth."""

from __future__ import annotations

import asyncio
import base64
import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import openai
import pytest
from conftest import JFK_TEXT, JFK_WAV, RunningServer, normalise_text, start_server, stop_server
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedOK, InvalidStatus

pytestmark = pytest.mark.server

API_KEY = "rt-test-key"
CHUNK_MS = 100
PACE_S = 0.02  # a 100 ms chunk every 20 ms: 5x faster than real time
TIMEOUT_S = 120  # per event; generous for a loaded machine
TRANSCRIPTION = "conversation.item.input_audio_transcription"


def jfk_at(rate: int) -> np.ndarray:
    """jfk.wav as int16 mono at ``rate`` (PyAV's resampler, independent of the server's)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks = []
    with av.open(str(JFK_WAV)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16)


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """ITU-T G.711 μ-law, written here from the standard (not the server's decoder run backwards)."""
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def chunks_of(data: bytes, size: int) -> list[str]:
    return [base64.b64encode(data[i:i + size]).decode() for i in range(0, len(data), size)]


def pcm24k_chunks(silence_s: float = 1.5) -> list[str]:
    pcm = np.concatenate([jfk_at(24000), np.zeros(int(24000 * silence_s), np.int16)])
    return chunks_of(pcm.tobytes(), 24000 * 2 * CHUNK_MS // 1000)


def append(audio: str) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": audio})


def ga_update(audio_input: dict[str, Any]) -> str:
    return json.dumps({"type": "session.update",
                       "session": {"type": "transcription", "audio": {"input": audio_input}}})


def words(text: str) -> str:
    return normalise_text(text).replace(",", "")


@pytest.fixture(scope="module")
def rt_server(tmp_path_factory: pytest.TempPathFactory):
    running = start_server(tmp_path_factory.mktemp("realtime") / "server.log",
                           "--realtime-idle-timeout-s", "20")
    yield running
    stop_server(running)


def ws_url(server: RunningServer, query: str = "intent=transcription") -> str:
    return f"ws://127.0.0.1:{server.port}/v1/realtime?{query}"


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S)))


async def until(ws: ClientConnection, kind: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    while True:
        event = await recv_json(ws)
        if seen is not None:
            seen.append(event)
        if event["type"] == kind:
            return event


def of_item(events: list[dict[str, Any]], item_id: str) -> list[dict[str, Any]]:
    return [e for e in events if item_id in (e.get("item_id"), (e.get("item") or {}).get("id"))]


def check_item_flow(events: list[dict[str, Any]], ga: bool) -> str:
    """The events of the first committed item in order, one item id, deltas adding up; its transcript."""
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    mine = of_item(events, committed["item_id"])
    kinds = [e["type"] for e in mine]
    expected_head = ["input_audio_buffer.committed", "conversation.item.created"]
    if ga:
        expected_head.append("conversation.item.added")
    if kinds[0] == "input_audio_buffer.speech_started":
        assert kinds[1] == "input_audio_buffer.speech_stopped"
        assert mine[0]["audio_start_ms"] < mine[1]["audio_end_ms"]
        kinds, mine = kinds[2:], mine[2:]
    assert kinds[:len(expected_head)] == expected_head
    rest = kinds[len(expected_head):]
    n_deltas = rest.count(f"{TRANSCRIPTION}.delta")
    tail = [f"{TRANSCRIPTION}.completed"] + (["conversation.item.done"] if ga else [])
    assert n_deltas >= 1 and rest == [f"{TRANSCRIPTION}.delta"] * n_deltas + tail
    deltas = "".join(e["delta"] for e in mine if e["type"].endswith(".delta"))
    done = next(e for e in mine if e["type"].endswith(".completed"))
    assert done["transcript"] == deltas
    assert done["usage"]["type"] == "duration" and done["usage"]["seconds"] > 0
    assert len({e["event_id"] for e in events}) == len(events)
    return str(done["transcript"])


def test_official_client_ga_server_vad(rt_server: RunningServer) -> None:
    async def run() -> list[dict[str, Any]]:
        client = openai.AsyncOpenAI(api_key="unused", base_url=rt_server.base_url)
        seen: list[dict[str, Any]] = []
        async with client.realtime.connect(model="tiny.en", extra_query={"intent": "transcription"}) as conn:
            await conn.session.update(session={"type": "transcription", "audio": {"input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "tiny.en", "language": "en"},
                # jfk.wav pauses for up to 1.2 s; tiny.en transcribes the sentence right only whole
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                   "silence_duration_ms": 1500}}}})
            for chunk in pcm24k_chunks(silence_s=2.5):
                await conn.input_audio_buffer.append(audio=chunk)
                await asyncio.sleep(PACE_S)
            speech = 0
            while True:
                event = (await asyncio.wait_for(conn.recv(), TIMEOUT_S)).model_dump()
                seen.append(event)
                speech += {"input_audio_buffer.speech_started": 1,
                           "conversation.item.done": -1}.get(event["type"], 0)
                if event["type"] == "conversation.item.done" and speech == 0:
                    break
        await client.close()
        return seen

    seen = asyncio.run(run())
    assert [e["type"] for e in seen[:2]] == ["session.created", "session.updated"]
    updated = seen[1]["session"]
    assert updated["type"] == "transcription"
    assert updated["audio"]["input"]["transcription"]["model"] == "tiny.en"
    assert updated["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 1500
    assert [e["type"] for e in seen].count("input_audio_buffer.committed") == 1
    assert words(check_item_flow(seen[2:], ga=True)) == words(JFK_TEXT)
    started = next(e for e in seen if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in seen if e["type"] == "input_audio_buffer.speech_stopped")
    # on the audio timeline: speech begins at about 0.3 s (less the padding), ends by 11 s + silence
    assert 0 <= started["audio_start_ms"] < 500 and 11500 < stopped["audio_end_ms"] < 13000


def test_official_client_beta_manual_commit(rt_server: RunningServer) -> None:
    async def run() -> list[dict[str, Any]]:
        # the beta client always says wss:// unless given a WebSocket base URL
        client = openai.AsyncOpenAI(api_key="unused", base_url=rt_server.base_url,
                                    websocket_base_url=f"ws://127.0.0.1:{rt_server.port}/v1")
        seen: list[dict[str, Any]] = []
        async with client.beta.realtime.connect(model="tiny.en",
                                                extra_query={"intent": "transcription"}) as conn:
            await conn.transcription_session.update(session={
                "input_audio_format": "pcm16", "input_audio_transcription": {"model": "tiny.en"},
                "turn_detection": None})
            for chunk in pcm24k_chunks(silence_s=0):
                await conn.input_audio_buffer.append(audio=chunk)
            await conn.input_audio_buffer.commit()
            while not seen or not seen[-1]["type"].endswith(".completed"):
                seen.append((await asyncio.wait_for(conn.recv(), TIMEOUT_S)).model_dump())
        await client.close()
        return seen

    seen = asyncio.run(run())
    assert [e["type"] for e in seen[:2]] == ["transcription_session.created", "transcription_session.updated"]
    assert seen[1]["session"]["turn_detection"] is None
    assert seen[1]["session"]["input_audio_format"] == "pcm16"
    assert words(check_item_flow(seen[2:], ga=False)) == words(JFK_TEXT)


def test_g711_mulaw_plain_websockets(rt_server: RunningServer) -> None:
    ulaw = mulaw_encode(np.concatenate([jfk_at(8000), np.zeros(8000, np.int16)]))

    async def run() -> list[dict[str, Any]]:
        async with connect(ws_url(rt_server, "intent=transcription&model=tiny.en"),
                           additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
            assert (await recv_json(ws))["type"] == "transcription_session.created"
            await ws.send(json.dumps({"type": "transcription_session.update", "session": {
                "input_audio_format": "g711_ulaw", "turn_detection": {"type": "server_vad"}}}))
            updated = await until(ws, "transcription_session.updated")
            assert updated["session"]["input_audio_format"] == "g711_ulaw"
            assert updated["session"]["input_audio_transcription"]["model"] == "tiny.en"
            assert updated["session"]["turn_detection"]["silence_duration_ms"] == 500
            for chunk in chunks_of(ulaw, 800):
                await ws.send(append(chunk))
                await asyncio.sleep(PACE_S)
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))  # answered after every append
            seen: list[dict[str, Any]] = []
            await until(ws, "input_audio_buffer.cleared", seen)
            kinds = [e["type"] for e in seen]
            while kinds.count("input_audio_buffer.committed") > kinds.count(f"{TRANSCRIPTION}.completed"):
                await until(ws, f"{TRANSCRIPTION}.completed", seen)
                kinds = [e["type"] for e in seen]
            return seen

    seen = asyncio.run(run())
    commits = [e for e in seen if e["type"] == "input_audio_buffer.committed"]
    assert len(commits) >= 3  # jfk.wav pauses three times for over 0.5 s
    assert [c["previous_item_id"] for c in commits] == [None] + [c["item_id"] for c in commits[:-1]]
    texts = [check_item_flow(of_item(seen, c["item_id"]), ga=False) for c in commits]
    edges = [e.get("audio_start_ms", e.get("audio_end_ms")) for e in seen if e["type"] in (
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped")]
    assert edges == sorted(edges) and len(edges) == 2 * len(commits)
    # 8 kHz telephone audio through tiny.en, turn by turn: the short first turn comes out worst
    ratio = difflib.SequenceMatcher(None, words(" ".join(texts)).split(), words(JFK_TEXT).split()).ratio()
    assert ratio > 0.75, texts
    ending = "what your country can do for you ask what you can do for your country"
    assert words(" ".join(texts[-3:])).endswith(ending)


def test_hostile_frames_are_answered_and_the_session_goes_on(rt_server: RunningServer) -> None:
    pcm = jfk_at(24000).tobytes()

    async def run() -> tuple[dict[str, dict[str, Any]], str]:
        async with connect(ws_url(rt_server), max_size=None) as ws:
            assert (await recv_json(ws))["type"] == "session.created"
            errors: dict[str, dict[str, Any]] = {}

            async def expect_error(name: str, frame: str | bytes) -> None:
                await ws.send(frame)
                errors[name] = await until(ws, "error")

            await expect_error("not json", "{this is not json")
            await expect_error("binary", b"\x00\x01\x02")
            await expect_error("no type", json.dumps({"hello": 1}))
            await expect_error("unknown", json.dumps({"type": "response.create", "event_id": "evt_1"}))
            await expect_error("bad base64", append("***"))
            await expect_error("huge", append(base64.b64encode(bytes(16 * 1024 * 1024)).decode()))
            await expect_error("commit empty", json.dumps({"type": "input_audio_buffer.commit",
                                                           "event_id": "e2"}))
            await expect_error("bad format", ga_update({"format": {"type": "audio/opus"}}))
            await expect_error("bad rate", ga_update({"format": {"type": "audio/pcm", "rate": 11025}}))
            await expect_error("realtime type", json.dumps({"type": "session.update",
                                                            "session": {"type": "realtime"}}))
            await expect_error("unknown model", ga_update({"transcription": {"model": "no-such-model"}}))
            await expect_error("bad language", ga_update({"transcription": {"model": "tiny.en",
                                                                            "language": "fr"}}))
            await ws.send(ga_update({"transcription": {"model": "tiny.en"}, "turn_detection": None}))
            updated = await until(ws, "session.updated")
            assert updated["session"]["audio"]["input"]["turn_detection"] is None
            for chunk in chunks_of(pcm, 4801):  # odd sizes: samples split across appends
                await ws.send(append(chunk))
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            await until(ws, "input_audio_buffer.cleared")
            await expect_error("commit after clear", json.dumps({"type": "input_audio_buffer.commit"}))
            for chunk in chunks_of(pcm, 4801):
                await ws.send(append(chunk))
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            done = await until(ws, "conversation.item.input_audio_transcription.completed")
            return errors, done["transcript"]

    errors, transcript = asyncio.run(run())
    codes = {name: event["error"]["code"] for name, event in errors.items()}
    assert codes == {
        "not json": "invalid_json", "binary": "invalid_event", "no type": "invalid_event",
        "unknown": "unsupported_event", "bad base64": "invalid_base64", "huge": "audio_too_large",
        "commit empty": "input_audio_buffer_commit_empty", "bad format": "invalid_value",
        "bad rate": "invalid_value", "realtime type": "unsupported_session_type",
        "unknown model": "model_not_found", "bad language": "invalid_value",
        "commit after clear": "input_audio_buffer_commit_empty"}
    for event in errors.values():
        assert event["error"]["type"] == "invalid_request_error" and event["error"]["message"]
        assert re.fullmatch(r"event_[0-9a-f]+", event["event_id"])
    assert errors["unknown"]["error"]["event_id"] == "evt_1"
    assert errors["commit empty"]["error"]["event_id"] == "e2"
    assert "buffer only has 0.00ms of audio" in errors["commit empty"]["error"]["message"]
    assert errors["bad rate"]["error"]["param"] == "session.audio.input.format.rate"
    assert words(transcript) == words(JFK_TEXT)


def realtime_gauges(server: RunningServer) -> dict[str, float]:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    wanted = ("localwhisper_realtime_sessions", "localwhisper_realtime_items_pending",
              "localwhisper_realtime_transcribing", 'localwhisper_transcriptions_in_flight{model="tiny.en"}',
              'localwhisper_queue_depth{model="tiny.en"}')
    values = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            values[name] = float(value)
    assert set(values) == set(wanted), text
    return values


def test_concurrent_sessions_and_dropped_clients_free_everything(rt_server: RunningServer) -> None:
    chunks = pcm24k_chunks(silence_s=0)

    async def session(mode: str) -> str | None:
        async with connect(ws_url(rt_server, "intent=transcription&model=tiny.en")) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {
                "type": "transcription", "audio": {"input": {"turn_detection": None}}}}))
            await until(ws, "session.updated")
            for index, chunk in enumerate(chunks):
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
                if mode == "drop mid-utterance" and index == len(chunks) // 2:
                    return None  # leaves without a word
                await asyncio.sleep(0.005)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            if mode == "drop while transcribing":
                await until(ws, "input_audio_buffer.committed")
                return None
            return str((await until(ws, f"{TRANSCRIPTION}.completed"))["transcript"])

    async def run() -> list[str | None]:
        modes = ["complete", "drop mid-utterance", "drop while transcribing", "complete"]
        return list(await asyncio.gather(*(session(mode) for mode in modes)))

    completed_before = completed_transcriptions(rt_server)
    results = asyncio.run(run())
    assert [words(text) for text in results if text is not None] == [words(JFK_TEXT)] * 2
    wait_for(lambda: all(v == 0 for v in realtime_gauges(rt_server).values()), 15)
    assert realtime_gauges(rt_server) == dict.fromkeys(realtime_gauges(rt_server), 0.0)
    # the turn of the client that left while it was transcribed was aborted, not finished
    assert completed_transcriptions(rt_server) == completed_before + 2
    assert "Traceback" not in rt_server.log()


def completed_transcriptions(server: RunningServer) -> float:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    name = 'localwhisper_transcriptions_total{model="tiny.en",outcome="ok",task="transcribe"}'
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(name))


def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def secured_rt_server(tmp_path_factory: pytest.TempPathFactory):
    running = start_server(tmp_path_factory.mktemp("realtime-auth") / "server.log", "--api-key", API_KEY,
                           "--realtime-idle-timeout-s", "1", "--realtime-max-session-s", "4",
                           "--realtime-max-buffer-s", "2")
    yield running
    stop_server(running)


def test_api_keys_guard_the_websocket(secured_rt_server: RunningServer) -> None:
    url = ws_url(secured_rt_server)

    async def refused(**kwargs: Any) -> int:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(url, **kwargs):
                pass
        return int(caught.value.response.status_code)

    async def created(**kwargs: Any) -> tuple[str | None, str]:
        async with connect(url, **kwargs) as ws:
            return ws.subprotocol, (await recv_json(ws))["type"]

    async def run() -> None:
        assert await refused() == 401
        foreign = {"Authorization": f"Bearer {API_KEY}", "Origin": "http://evil.example"}
        assert await refused(additional_headers=foreign) == 403  # another site's page
        own = {"Authorization": f"Bearer {API_KEY}", "Origin": secured_rt_server.url}
        assert await created(additional_headers=own) == (None, "session.created")
        assert await refused(additional_headers={"Authorization": "Bearer wrong"}) == 401
        assert await refused(subprotocols=["realtime", "openai-insecure-api-key.wrong"]) == 401
        bearer = {"Authorization": f"Bearer {API_KEY}"}
        assert await created(additional_headers=bearer) == (None, "session.created")
        assert await created(subprotocols=["realtime", f"openai-insecure-api-key.{API_KEY}"]) == (
            "realtime", "session.created")
        assert await created(subprotocols=["realtime", f"openai-insecure-api-key.{API_KEY}",
                                           "openai-beta.realtime-v1"]) == ("realtime",
                                                                           "transcription_session.created")

    asyncio.run(run())
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=secured_rt_server.base_url)

    async def official() -> str:
        async with client.realtime.connect(model="tiny.en", extra_query={"intent": "transcription"}) as conn:
            return str((await asyncio.wait_for(conn.recv(), TIMEOUT_S)).type)

    assert asyncio.run(official()) == "session.created"


def test_session_limits(secured_rt_server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    second = base64.b64encode(bytes(48000)).decode()  # 1 s of 24 kHz PCM16

    async def closing_error(ws: ClientConnection) -> tuple[str, int | None]:
        error = await until(ws, "error")
        with pytest.raises(ConnectionClosedOK):
            await until(ws, "never")
        return str(error["error"]["code"]), ws.close_code

    async def idle() -> tuple[str, int | None]:
        async with connect(ws_url(secured_rt_server), additional_headers=headers) as ws:
            return await closing_error(ws)

    async def expires() -> tuple[str, int | None]:
        async with connect(ws_url(secured_rt_server), additional_headers=headers) as ws:
            async def keep_busy() -> None:
                while True:
                    await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
                    await asyncio.sleep(0.3)

            busy = asyncio.create_task(keep_busy())
            try:
                return await closing_error(ws)
            finally:
                busy.cancel()

    async def buffer_cap() -> tuple[str, str]:
        async with connect(ws_url(secured_rt_server), additional_headers=headers) as ws:
            await ws.send(ga_update({"turn_detection": None}))
            await until(ws, "session.updated")
            await ws.send(append(second))
            await ws.send(append(base64.b64encode(bytes(48000 * 2)).decode()))  # over the 2 s cap
            full = await until(ws, "error")
            await ws.send(append(second))  # the refused append left the buffer as it was
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            committed = await until(ws, "input_audio_buffer.committed")
            return str(full["error"]["code"]), str(committed["type"])

    async def run() -> list[Any]:
        return list(await asyncio.gather(idle(), expires(), buffer_cap()))

    assert asyncio.run(run()) == [("idle_timeout", 1000), ("session_expired", 1000),
                                  ("input_audio_buffer_full", "input_audio_buffer.committed")]


def test_a_long_transcription_does_not_hold_up_other_sessions(rt_server: RunningServer) -> None:
    chunks = pcm24k_chunks(silence_s=0)

    async def run() -> tuple[list[float], float, str]:
        async with connect(ws_url(rt_server, "intent=transcription&model=tiny.en")) as busy, \
                connect(ws_url(rt_server)) as other:
            await busy.send(ga_update({"turn_detection": None}))
            await until(busy, "session.updated")
            for chunk in chunks:
                await busy.send(append(chunk))
            await busy.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await until(busy, "input_audio_buffer.committed")
            round_trips, loop = [], asyncio.get_running_loop()
            for _ in range(5):  # while tiny.en decodes 11 s of speech (0.5 s on an idle core)
                started = loop.time()
                await other.send(json.dumps({"type": "input_audio_buffer.clear"}))
                await until(other, "input_audio_buffer.cleared")
                round_trips.append(loop.time() - started)
            answered = loop.time()
            done = await until(busy, f"{TRANSCRIPTION}.completed")
            return round_trips, loop.time() - answered, str(done["transcript"])

    round_trips, completed_after_s, transcript = asyncio.run(run())
    assert completed_after_s > 0.05  # the other session was answered while the decode still ran
    assert max(round_trips) < 0.5, round_trips
    assert words(transcript) == words(JFK_TEXT)


def test_sessions_are_admitted_against_the_memory_budget(tmp_path: Path) -> None:
    """In process (no model is touched): a budget smaller than the process refuses every session."""
    from starlette.testclient import TestClient, WebSocketDenialResponse

    from localwhisper.server import ServerSettings, create_app

    app = create_app(ServerSettings(models_dir=tmp_path, max_memory=64 * 1024 * 1024, ensure_models=False))
    with TestClient(app) as client, pytest.raises(WebSocketDenialResponse) as caught:
        client.websocket_connect("/v1/realtime?intent=transcription").__enter__()
    assert caught.value.status_code == 503
    assert caught.value.headers["retry-after"] == "1"
    assert caught.value.json()["error"]["code"] == "server_busy"
