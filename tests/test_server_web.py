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
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
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
