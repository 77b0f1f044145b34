"""The page's live microphone transcript in real headless Chromium, over the realtime WebSocket.

Chromium's fake capture device plays jfk.wav (padded with silence, so the server's VAD
sees the end of speech) as the microphone: getUserMedia -> AudioWorklet (PCM16, 24 kHz)
-> ``/v1/realtime?intent=transcription`` -> the transcript lines on the page.
"""

from __future__ import annotations

import base64
import json
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import JFK_WAV, RunningServer, plain_words, start_server, stop_server
from test_server_web import CHROMIUM, CHROMIUM_ARGS, JFK_PHRASE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.server

API_KEY = "page-realtime-key"
LIVE_TIMEOUT_MS = 180_000  # real time plus decoding; a loaded machine lags far behind
LEAD_S, TAIL_S = 0.5, 3.0  # silence around the speech


@pytest.fixture(scope="module")
def microphone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """jfk.wav (16-bit PCM) with silence before and after it, as the fake microphone plays it."""
    with wave.open(str(JFK_WAV), "rb") as source:
        params = source.getparams()
        speech = source.readframes(source.getnframes())
    assert params.sampwidth == 2 and params.nchannels == 1
    silence = b"\0" * (2 * params.framerate)
    target = tmp_path_factory.mktemp("microphone") / "jfk-padded.wav"
    with wave.open(str(target), "wb") as out:
        out.setparams(params)
        out.writeframes(silence[: int(LEAD_S * len(silence)) & ~1] + speech + silence * int(TAIL_S))
    return target


@pytest.fixture(scope="module")
def mic_browser(microphone_wav: Path) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (`apt-get install -y chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs `pip install playwright`")
    fake_microphone = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                       f"--use-file-for-fake-audio-capture={microphone_wav}%noloop"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=[*CHROMIUM_ARGS, *fake_microphone])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("keyed") / "server.log", "--api-key", API_KEY)
    yield running
    stop_server(running)


def open_page(browser: Browser, server: RunningServer, key: str | None) -> tuple[Page, list[str]]:
    context = browser.new_context(permissions=["microphone"])
    if key is not None:  # the page keeps the key the user pasted in localStorage
        context.add_init_script(f"localStorage.setItem('localwhisper-api-key', {key!r})")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    page.wait_for_selector("#model option[value='tiny.en']", state="attached")
    page.select_option("#model", "tiny.en")
    page.select_option("#language", "en")
    return page, errors


def live_lines(page: Page) -> list[str]:
    return page.locator("#live li.done").all_text_contents()


def live_text(page: Page) -> str:
    return " ".join(live_lines(page))


def test_microphone_streams_a_live_transcript(mic_browser: Browser, keyed_server: RunningServer,
                                              tmp_path: Path) -> None:
    page, errors = open_page(mic_browser, keyed_server, API_KEY)
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    page.on("websocket", lambda socket: (
        socket.on("framesent", lambda payload: sent.append(json.loads(payload))),
        socket.on("framereceived", lambda payload: received.append(json.loads(payload)))))
    page.click("#mic")
    page.wait_for_function("document.getElementById('live-status').textContent.startsWith('Listening')",
                           timeout=20_000)
    # the server's VAD may cut the sentence at its pauses: the finished lines, joined, hold it
    page.wait_for_function(
        f"""(() => {{
              const words = [...document.querySelectorAll('#live li.done')].map((li) => li.textContent)
                .join(' ').toLowerCase().replace(/[^a-z0-9]+/g, ' ');
              return words.includes({JFK_PHRASE!r});
            }})()""", timeout=LIVE_TIMEOUT_MS)
    assert JFK_PHRASE in plain_words(live_text(page))
    screenshot = tmp_path / "live-transcript.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 1000 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.click("#mic")  # stop: the last turn is finished or dropped, the session closes, the mic is freed
    page.wait_for_function("document.getElementById('live-status').textContent === 'Stopped.'",
                           timeout=30_000)
    assert page.text_content("#mic") == "Start microphone"
    assert not page.locator("#live li.failed").count()

    # what went over the wire: a GA transcription session, then PCM16 at 24 kHz in 100 ms appends
    audio_input = sent[0]["session"]["audio"]["input"]
    assert sent[0]["type"] == "session.update" and sent[0]["session"]["type"] == "transcription"
    assert audio_input["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_input["turn_detection"]["type"] == "server_vad"
    assert audio_input["transcription"] == {"model": "tiny.en", "language": "en"}
    appends = [base64.b64decode(event["audio"]) for event in sent[1:]
               if event["type"] == "input_audio_buffer.append"]
    assert {len(chunk) for chunk in appends[:-1]} == {4800}
    assert sum(map(len, appends)) / 48_000 > LEAD_S + 7.7  # up to "... do for you", at 24 kHz
    # each finished line is its item's completed transcript, after the deltas that built it
    completed = [event for event in received
                 if event["type"] == "conversation.item.input_audio_transcription.completed"]
    assert live_lines(page) == [event["transcript"].strip() for event in completed]
    for event in completed:
        deltas = [e["delta"] for e in received if e.get("item_id") == event["item_id"]
                  and e["type"] == "conversation.item.input_audio_transcription.delta"]
        assert "".join(deltas) == event["transcript"]
    page.context.close()
    assert not errors, errors


def test_microphone_with_a_wrong_key_says_so(mic_browser: Browser, keyed_server: RunningServer) -> None:
    page, errors = open_page(mic_browser, keyed_server, API_KEY)
    page.fill("#api-key", "not-the-key")
    page.click("#mic")
    page.wait_for_function("document.getElementById('live-status').classList.contains('error')",
                           timeout=20_000)
    assert "API key" in page.text_content("#live-status")
    assert page.text_content("#mic") == "Start microphone"
    page.context.close()
    assert not errors, errors


def test_microphone_without_a_key_connects(mic_browser: Browser, server: RunningServer) -> None:
    """No key: the page offers only the ``realtime`` subprotocol, which the server must accept."""
    page, errors = open_page(mic_browser, server, None)
    page.click("#mic")
    page.wait_for_function("document.getElementById('live-status').textContent.startsWith('Listening')",
                           timeout=20_000)
    page.click("#mic")
    page.wait_for_function("document.getElementById('live-status').textContent === 'Stopped.'",
                           timeout=20_000)
    page.context.close()
    assert not errors, errors
