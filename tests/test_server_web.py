"""The web page at ``/`` in real headless Chromium (Debian's ``chromium``), driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import JFK_WAV, RunningServer, plain_words

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]
JFK_PHRASE = "ask not what your country can do for you"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (`apt-get install -y chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs `pip install playwright`")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    yield page
    context.close()
    assert not errors, errors


def wait_for_status(page: Page, prefix: str) -> None:
    script = f"document.getElementById('status').textContent.startsWith({prefix!r})"
    page.wait_for_function(script, timeout=120_000)


def test_page_streams_the_transcript_with_segment_times(page: Page) -> None:
    page.wait_for_selector("#model option[value='tiny.en']", state="attached")
    page.select_option("#model", "tiny.en")
    page.set_input_files("#file", str(JFK_WAV))
    assert "jfk.wav" in page.text_content("#file-label")
    page.click("#submit")
    wait_for_status(page, "done")
    transcript = page.text_content("#transcript")
    assert JFK_PHRASE in plain_words(transcript)
    times = page.locator("#segments time").all_text_contents()
    assert times and all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} → \d\d:\d\d:\d\d\.\d{3}", t) for t in times)
    assert times[0].startswith("00:00:00.000")
    streamed = " ".join(page.locator("#segments span").all_text_contents())
    assert plain_words(streamed) == plain_words(transcript)

    with page.expect_download() as download_info:
        page.click("#download-srt")
    srt = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert download_info.value.suggested_filename == "jfk.srt"
    assert srt.startswith("1\n00:00:00,000 --> ") and JFK_PHRASE in plain_words(srt)


def test_page_shows_non_streamed_formats_and_errors(page: Page) -> None:
    page.wait_for_selector("#model option[value='tiny.en']", state="attached")
    page.select_option("#model", "tiny.en")
    page.select_option("#format", "vtt")
    page.set_input_files("#file", str(JFK_WAV))
    page.click("#submit")
    wait_for_status(page, "done")
    body = page.text_content("#body")
    assert body.startswith("WEBVTT") and JFK_PHRASE in plain_words(body)

    noise = {"name": "noise.mp3", "mimeType": "audio/mpeg", "buffer": bytes(4096)}
    page.set_input_files("#file", files=[noise])
    page.click("#submit")
    wait_for_status(page, "Error")
    assert "audio" in page.text_content("#status").lower()


def highlighted(page: Page) -> list[int]:
    return page.locator("#segments li").evaluate_all(
        "items => items.flatMap((item, i) => item.classList.contains('current') ? [i] : [])")


def test_file_view_segments_seek_the_player_and_follow_playback(page: Page) -> None:
    page.wait_for_selector("#model option[value='tiny.en']", state="attached")
    page.select_option("#model", "tiny.en")
    page.select_option("#format", "verbose_json")
    page.set_input_files("#file", str(JFK_WAV))
    page.click("#submit")
    wait_for_status(page, "done")
    assert JFK_PHRASE in plain_words(page.text_content("#transcript"))
    segments = page.locator("#segments li[data-start]")
    starts_ms = [int(v) for v in segments.evaluate_all("items => items.map((item) => item.dataset.start)")]
    assert len(starts_ms) >= 2 and starts_ms[0] == 0 and starts_ms == sorted(set(starts_ms))
    assert page.is_visible("#download-srt") and page.is_visible("#player")
    page.wait_for_function("document.getElementById('player').readyState >= 1")  # metadata: seekable
    second = starts_ms[1] / 1000

    segments.nth(1).click()
    played = page.evaluate("document.getElementById('player').currentTime")
    assert second - 0.05 <= played < second + 1.0  # it seeks there, then plays on
    assert highlighted(page) == [1]

    # playback carries the highlight over: start inside segment 0, just before segment 1
    page.evaluate("(t) => { const p = document.getElementById('player'); p.currentTime = t; p.play(); }",
                  second - 0.4)
    page.wait_for_function("document.querySelector('#segments li.current') === "
                           "document.querySelectorAll('#segments li')[0]", timeout=5_000)
    page.wait_for_function("document.querySelector('#segments li.current') === "
                           "document.querySelectorAll('#segments li')[1]", timeout=5_000)
    assert page.evaluate("document.getElementById('player').currentTime") >= second
    assert highlighted(page) == [1]


def test_static_scripts_are_served_and_nothing_else(server: RunningServer) -> None:
    import httpx

    for name, needle in [("page.js", "LiveTranscription"), ("live.js", "input_audio_buffer.append"),
                         ("pcm16-worklet.js", "registerProcessor")]:
        response = httpx.get(f"{server.url}/static/{name}", timeout=10)
        assert response.status_code == 200 and needle in response.text
        assert response.headers["content-type"].startswith("text/javascript")
    missing = httpx.get(f"{server.url}/static/..%2Fapp.py", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("rate", [48_000, 44_100, 16_000])
def test_microphone_worklet_gives_pcm16_at_24_khz(page: Page, rate: int) -> None:
    """The worklet's own resampling, used where a 24 kHz context cannot take the microphone."""
    import numpy as np

    chunks = page.evaluate("""async (rate) => {
        const context = new OfflineAudioContext(1, rate, rate);  // one second
        await context.audioWorklet.addModule("static/pcm16-worklet.js");
        const node = new AudioWorkletNode(context, "pcm16-capture",
                                          { processorOptions: { targetRate: 24000, chunkMs: 100 } });
        const chunks = [];
        node.port.onmessage = (event) => chunks.push(Array.from(new Int16Array(event.data)));
        const tone = new OscillatorNode(context, { frequency: 1000 });
        tone.connect(new GainNode(context, { gain: 0.5 })).connect(node).connect(context.destination);
        tone.start();
        await context.startRendering();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return chunks;
    }""", rate)
    assert len(chunks) >= 9 and all(len(chunk) == 2400 for chunk in chunks)  # 100 ms at 24 kHz
    samples = np.concatenate([np.asarray(chunk, dtype=np.float64) for chunk in chunks])[2400:] / 32768
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    assert abs(np.argmax(spectrum) * 24_000 / len(samples) - 1000) < 15
    assert 0.45 < np.sqrt(2) * samples.std() < 0.55  # amplitude 0.5 kept
