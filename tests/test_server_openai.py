"""The server through the official OpenAI clients (Python; Node when available): base_url only."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import openai
import pytest
from conftest import JFK_WAV, REPO_ROOT, RunningServer, plain_words

pytestmark = pytest.mark.server

JFK_PHRASE = "ask not what your country can do for you"


def transcribe(client: openai.OpenAI, **kwargs: object) -> object:
    with JFK_WAV.open("rb") as audio:
        return client.audio.transcriptions.create(file=audio, **{"model": "tiny.en", **kwargs})


def test_json_is_the_default(openai_client: openai.OpenAI) -> None:
    result = transcribe(openai_client)
    assert JFK_PHRASE in plain_words(result.text)


@pytest.mark.parametrize("response_format", ["text", "srt", "vtt"])
def test_plain_formats_are_raw_bodies(openai_client: openai.OpenAI, response_format: str) -> None:
    body = transcribe(openai_client, response_format=response_format)
    assert isinstance(body, str)
    assert JFK_PHRASE in plain_words(body)
    if response_format == "srt":
        assert body.startswith("1\n00:00:00,000 --> ")
    if response_format == "vtt":
        assert body.startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_verbose_json_has_segments_and_no_words_by_default(openai_client: openai.OpenAI) -> None:
    result = transcribe(openai_client, response_format="verbose_json")
    assert result.task == "transcribe"
    assert result.language == "english"
    assert result.duration == pytest.approx(11.0, abs=0.1)
    assert JFK_PHRASE in plain_words(result.text)
    assert result.words is None
    assert result.segments
    for segment in result.segments:
        fields = segment.model_dump()
        for key in ("id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                    "compression_ratio", "no_speech_prob"):
            assert key in fields, key
        assert 0 <= segment.start <= segment.end <= result.duration


def test_word_and_segment_granularities(openai_client: openai.OpenAI) -> None:
    result = transcribe(openai_client, response_format="verbose_json",
                        timestamp_granularities=["word", "segment"])
    assert result.segments
    words = result.words
    assert words and len(words) >= 20
    assert JFK_PHRASE in plain_words(" ".join(w.word for w in words))
    for word in words:
        assert 0 <= word.start <= word.end <= result.duration + 0.01
    starts = [w.start for w in words]
    assert starts == sorted(starts)


def test_word_granularity_alone_has_no_segments(openai_client: openai.OpenAI) -> None:
    result = transcribe(openai_client, response_format="verbose_json", timestamp_granularities=["word"])
    assert result.words
    assert result.segments is None


def test_words_need_verbose_json(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(openai_client, response_format="json", timestamp_granularities=["word"])
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "timestamp_granularities"


def test_stream_yields_deltas_as_decoded_then_done(openai_client: openai.OpenAI) -> None:
    events = list(transcribe(openai_client, stream=True))
    types = [event.type for event in events]
    assert types[-1] == "transcript.text.done"
    assert types[:-1] and set(types[:-1]) == {"transcript.text.delta"}
    assert "".join(e.delta for e in events[:-1]) == events[-1].text
    assert JFK_PHRASE in plain_words(events[-1].text)


def test_stream_verbose_deltas_carry_segment_times(openai_client: openai.OpenAI) -> None:
    events = list(transcribe(openai_client, stream=True, extra_body={"verbose": "true"}))
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    times = [(e.model_extra["segment"]["start"], e.model_extra["segment"]["end"]) for e in deltas]
    assert times[0][0] == 0.0
    assert all(start <= end for start, end in times)
    assert [start for start, _ in times] == sorted(start for start, _ in times)


def test_include_logprobs_in_json_and_stream(openai_client: openai.OpenAI) -> None:
    result = transcribe(openai_client, include=["logprobs"])
    logprobs = result.logprobs
    assert logprobs and all(t.logprob <= 0.0 for t in logprobs)
    spelled = bytes(int(b) for t in logprobs for b in t.bytes).decode()  # the client types bytes as floats
    assert plain_words(spelled) == plain_words(result.text)
    assert sum(t.logprob for t in logprobs) / len(logprobs) > -0.5  # jfk is decoded confidently

    events = list(transcribe(openai_client, stream=True, include=["logprobs"]))
    streamed = [t for e in events[:-1] for t in e.logprobs]
    assert [t.token for t in streamed] == [t.token for t in events[-1].logprobs]
    assert transcribe(openai_client).model_extra.get("logprobs") is None  # only when asked


@pytest.mark.parametrize(("include", "response_format"), [(["nonsense"], "json"), (["logprobs"], "srt")])
def test_include_values_and_formats_are_checked(openai_client: openai.OpenAI, include: list[str],
                                                response_format: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(openai_client, include=include, response_format=response_format)
    assert caught.value.body["param"] == "include"


def test_server_vad_chunking_strategy(openai_client: openai.OpenAI) -> None:
    strategy = {"type": "server_vad", "threshold": 0.4, "prefix_padding_ms": 200, "silence_duration_ms": 300}
    result = transcribe(openai_client, chunking_strategy=strategy)
    assert "ask what you can do for your country" in plain_words(result.text)


def test_whisper_extras_as_extra_fields(openai_client: openai.OpenAI) -> None:
    extras = {"beam_size": "2", "condition_on_previous_text": "false", "no_such_field": "x"}
    result = transcribe(openai_client, temperature=0.0, extra_body=extras)
    assert JFK_PHRASE in plain_words(result.text)


def test_unknown_model_is_model_not_found(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        transcribe(openai_client, model="gpt-nothing")
    assert caught.value.code == "model_not_found"
    assert caught.value.body["param"] == "model"


def test_models_list_and_retrieve(openai_client: openai.OpenAI) -> None:
    ids = {model.id for model in openai_client.models.list()}
    assert {"whisper-1", "tiny.en", "base"} <= ids
    model = openai_client.models.retrieve("tiny.en")
    assert (model.id, model.object, model.owned_by) == ("tiny.en", "model", "localwhisper")
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("no-such-model")


def translate(client: openai.OpenAI, **kwargs: object) -> object:
    with JFK_WAV.open("rb") as audio, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the client marks translations deprecated
        return client.audio.translations.create(file=audio, **kwargs)


@pytest.mark.slow
def test_translation_with_the_multilingual_default(openai_client: openai.OpenAI) -> None:
    result = translate(openai_client, model="whisper-1", response_format="verbose_json")
    assert JFK_PHRASE in plain_words(result.text)
    assert (result.task, result.language) == ("translate", "english")
    assert result.segments


def test_translation_needs_a_multilingual_model(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        translate(openai_client, model="tiny.en")
    assert caught.value.body["param"] == "model"


# --- the official Node client -----------------------------------------------------------------

NODE_DIR = REPO_ROOT / ".cache" / "node-openai"
NODE_SCRIPT = """
import fs from "node:fs";
import OpenAI from "openai";
const [baseURL, path] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const plain = await client.audio.transcriptions.create({ file: fs.createReadStream(path), model: "tiny.en" });
const types = [];
let done = "";
const stream = await client.audio.transcriptions.create(
  { file: fs.createReadStream(path), model: "tiny.en", stream: true });
for await (const event of stream) {
  types.push(event.type);
  if (event.type === "transcript.text.done") done = event.text;
}
const models = await client.models.list();
console.log(JSON.stringify({ text: plain.text, types, done, models: models.data.map((m) => m.id) }));
"""


@pytest.fixture(scope="module")
def node_openai() -> Path:
    """The official `openai` npm package in a git-ignored cache dir (skips when offline)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").is_file():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        install = subprocess.run(
            ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--silent", "openai@^7"],
            capture_output=True, text=True, timeout=240, check=False)
        if install.returncode != 0:
            pytest.skip(f"cannot install the openai npm package (offline?): {install.stderr[-500:]}")
    script = NODE_DIR / "check_server.mjs"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    return script


def test_official_node_client(server: RunningServer, node_openai: Path) -> None:
    run = subprocess.run(["node", str(node_openai), server.base_url, str(JFK_WAV)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert JFK_PHRASE in plain_words(out["text"])
    assert out["types"][-1] == "transcript.text.done" and "transcript.text.delta" in out["types"]
    assert JFK_PHRASE in plain_words(out["done"])
    assert "tiny.en" in out["models"]
