"""A budget smaller than the work: a clear 503 with Retry-After, and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import JFK_WAV, start_server, stop_server

pytestmark = pytest.mark.native


def test_over_budget_requests_get_503_and_the_server_stays_up(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server.log", "--max-memory", "100M")  # below its own RSS
    try:
        for _ in range(3):
            with JFK_WAV.open("rb") as audio:
                response = httpx.post(server.base_url + "/audio/transcriptions", timeout=60,
                                      files={"file": ("jfk.wav", audio, "audio/wav")},
                                      data={"model": "tiny.en"})
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) > 0
            error = response.json()["error"]
            assert "memory budget (100 MiB)" in error["message"] and error["type"]
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
        assert server.process.poll() is None
        assert 'outcome="memory_budget"' in httpx.get(server.url + "/metrics", timeout=5).text
        assert "memory budget 100 MiB" in server.log()
    finally:
        stop_server(server)
