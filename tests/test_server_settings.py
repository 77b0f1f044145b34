"""Server settings (env + flags) and form → request parsing, without a server."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from localwhisper.errors import InvalidRequest, InvalidValue
from localwhisper.server import settings as settings_module
from localwhisper.server.audio_request import parse_audio_request
from localwhisper.server.forms import UploadedFile, UploadForm
from localwhisper.server.settings import SPECS, ServerSettings, add_arguments
from localwhisper.types import TranscribeOptions, VadOptions


def parse_flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    settings = ServerSettings.from_env({})
    assert (settings.host, settings.port, settings.max_upload_bytes) == ("127.0.0.1", 8080, 26_214_400)
    assert settings.api_keys == () and settings.cors_origins == () and settings.preload == ()
    assert settings.models_dir == Path("models")


def test_environment_then_flags() -> None:
    env = {"LOCALWHISPER_PORT": "9000", "LOCALWHISPER_API_KEYS": "a, b,,c", "LOCALWHISPER_STATES": "2",
           "LOCALWHISPER_ENSURE_MODELS": "off", "LOCALWHISPER_MODELS_DIR": "/srv/models",
           "LOCALWHISPER_PRELOAD": "tiny.en", "LOCALWHISPER_THREADS": "auto"}
    from_env = ServerSettings.from_env(env)
    assert (from_env.port, from_env.api_keys) == (9000, ("a", "b", "c"))
    assert (from_env.n_states, from_env.n_threads) == (2, None)
    assert from_env.ensure_models is False and from_env.models_dir == Path("/srv/models")
    args = parse_flags("--port", "9100", "--api-key", "x", "--api-key", "y,z", "--no-ensure-models",
                       "--log-level", "debug")
    merged = ServerSettings.from_args(args, env)
    assert (merged.port, merged.api_keys, merged.log_level) == (9100, ("x", "y", "z"), "debug")
    assert merged.preload == ("tiny.en",)  # not overridden: the environment stays in force


@pytest.mark.parametrize(("env", "message"), [
    ({"LOCALWHISPER_PORT": "eighty"}, "LOCALWHISPER_PORT"),
    ({"LOCALWHISPER_ENSURE_MODELS": "perhaps"}, "LOCALWHISPER_ENSURE_MODELS"),
    ({"LOCALWHISPER_MAX_UPLOAD_BYTES": "0"}, "max_upload_bytes"),
    ({"LOCALWHISPER_LOG_LEVEL": "loud"}, "log_level"),
])
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerSettings.from_env(env)


def test_api_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nk1\n\n  k2  \nk1\n", encoding="utf-8")
    env = {"LOCALWHISPER_API_KEYS_FILE": str(keys), "LOCALWHISPER_API_KEYS": "k0"}
    settings = ServerSettings.from_env(env)
    assert settings.all_api_keys() == ("k0", "k1", "k2")


def test_every_setting_is_in_the_documented_table() -> None:
    doc = settings_module.__doc__ or ""
    for spec in SPECS:
        assert spec.env in doc and spec.flag in doc and spec.name in doc, spec.name


# --- form → AudioRequest ------------------------------------------------------------------------

def form(**fields: str | list[str]) -> UploadForm:
    upload = UploadedFile("a.wav", "audio/wav", io.BytesIO(b"RIFF"), 4)
    return UploadForm(fields={k: v if isinstance(v, list) else [v] for k, v in fields.items()}, file=upload)


def test_openai_fields_map_onto_options() -> None:
    request = parse_audio_request(form(model="tiny.en", language="en", prompt="Kennedy.", temperature="0.4",
                                       response_format="verbose_json"), "transcribe")
    options = request.options(TranscribeOptions())
    assert (options.language, options.initial_prompt, options.temperature) == ("en", "Kennedy.", 0.4)
    assert options.temperature_increment == 0.0  # a fixed temperature, no fallback
    assert parse_audio_request(form(model="m", temperature="0"), "transcribe").options(
        TranscribeOptions()).temperature_increment == TranscribeOptions().temperature_increment


@pytest.mark.parametrize("fields", [
    {"timestamp_granularities[]": ["word", "segment"]},
    {"timestamp_granularities": ["word", "segment"]},
    {"timestamp_granularities[0]": "word", "timestamp_granularities[1]": "segment"},
    {"timestamp_granularities": '["word", "segment"]'},
    {"timestamp_granularities": "word,segment"},
])
def test_array_forms(fields: dict[str, str | list[str]]) -> None:
    request = parse_audio_request(form(model="m", response_format="verbose_json", **fields), "transcribe")
    assert request.granularities == {"word", "segment"}
    assert request.include_words and request.include_segments
    assert request.options(TranscribeOptions()).word_timestamps is True


def test_granularity_defaults() -> None:
    plain = parse_audio_request(form(model="m", response_format="verbose_json"), "transcribe")
    assert (plain.include_segments, plain.include_words) == (True, False)
    words = parse_audio_request(form(model="m", response_format="verbose_json",
                                     **{"timestamp_granularities[]": "word"}), "transcribe")
    assert (words.include_segments, words.include_words) == (False, True)


@pytest.mark.parametrize("fields", [
    {"chunking_strategy[type]": "server_vad", "chunking_strategy[threshold]": "0.3",
     "chunking_strategy[prefix_padding_ms]": "200", "chunking_strategy[silence_duration_ms]": "400"},
    {"chunking_strategy": '{"type": "server_vad", "threshold": 0.3, "prefix_padding_ms": 200, '
                          '"silence_duration_ms": 400}'},
])
def test_server_vad_maps_onto_vad_options(fields: dict[str, str]) -> None:
    base = TranscribeOptions(vad_options=VadOptions(min_speech_duration_ms=111))
    options = parse_audio_request(form(model="m", **fields), "transcribe").options(base)
    assert options.vad is True
    assert options.vad_options == VadOptions(threshold=0.3, speech_pad_ms=200, min_silence_duration_ms=400,
                                             min_speech_duration_ms=111)


def test_auto_chunking_and_extras() -> None:
    fields = form(model="m", chunking_strategy="auto", beam_size="3", vad_threshold="0.6", hotwords="Kennedy",
                  word_timestamps="yes", unknown_thing="1",
                  **{"keywords[]": ["ignored", "because"], "include[]": "logprobs"})
    request = parse_audio_request(fields, "transcribe")
    options = request.options(TranscribeOptions())
    assert (options.vad, options.beam_size, options.hotwords) == (True, 3, "Kennedy")
    assert options.word_timestamps is True
    assert options.vad_options.threshold == 0.6


@pytest.mark.parametrize(("fields", "error", "param"), [
    ({}, InvalidRequest, "model"),
    ({"model": "m", "temperature": "hot"}, InvalidRequest, "temperature"),
    ({"model": "m", "temperature": "inf"}, InvalidValue, "temperature"),
    ({"model": "m", "beam_size": "2.5"}, InvalidRequest, "beam_size"),
    ({"model": "m", "max_segment_chars": "-1"}, InvalidValue, "max_segment_chars"),
    ({"model": "m", "vad_threshold": "1.5"}, InvalidValue, "vad_threshold"),
    ({"model": "m", "response_format": "diarized_json"}, InvalidRequest, "response_format"),
    ({"model": "m", "timestamp_granularities[]": "word"}, InvalidRequest, "timestamp_granularities"),
    ({"model": "m", "timestamp_granularities[]": "sentence", "response_format": "verbose_json"},
     InvalidRequest, "timestamp_granularities"),
    ({"model": "m", "stream": "true", "response_format": "verbose_json"}, InvalidRequest, "stream"),
    ({"model": "m", "chunking_strategy[type]": "client_vad"}, InvalidRequest, "chunking_strategy[type]"),
    ({"model": "m", "chunking_strategy": "{not json"}, InvalidRequest, "chunking_strategy"),
])
def test_bad_fields(fields: dict[str, str], error: type[Exception], param: str) -> None:
    with pytest.raises(error) as caught:
        parse_audio_request(form(**fields), "transcribe")
    assert type(caught.value) is error
    assert caught.value.param == param


def test_missing_file_names_the_field_used() -> None:
    with pytest.raises(InvalidRequest, match="'audio'") as caught:
        parse_audio_request(UploadForm(fields={"model": ["m"]}, other_file_fields=["audio"]), "transcribe")
    assert caught.value.param == "file"
