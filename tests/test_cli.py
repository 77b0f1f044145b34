"""``localwhisper transcribe``: output files and their names, in process on tiny.en."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import JFK_TEXT, JFK_WAV, normalise_text

from localwhisper.cli import main
from localwhisper.cli.transcribe import output_name


@pytest.mark.parametrize(("fmt", "every_format", "name"), [
    ("text", False, "jfk.txt"), ("json", False, "jfk.json"), ("verbose_json", False, "jfk.json"),
    ("verbose_json", True, "jfk.verbose.json"), ("srt", False, "jfk.srt"), ("vtt", False, "jfk.vtt"),
    ("tsv", False, "jfk.tsv"), ("lrc", False, "jfk.lrc"),
])
def test_output_names(fmt: str, every_format: bool, name: str) -> None:
    assert output_name("jfk", fmt, every_format=every_format) == name


@pytest.mark.native
def test_transcribe_writes_txt_and_every_format(ggml_tiny_en: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["transcribe", str(JFK_WAV), "-m", str(ggml_tiny_en), "-t", "1", "-f", "text",
                 "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["jfk.txt"]
    assert normalise_text((out / "jfk.txt").read_text(encoding="utf-8")) == normalise_text(JFK_TEXT)
    assert "jfk.txt" in capsys.readouterr().err  # the summary line names what was written

    every = tmp_path / "every"
    assert main(["transcribe", str(JFK_WAV), "-m", str(ggml_tiny_en), "-t", "1", "-f", "all",
                 "-o", str(every)]) == 0
    names = {"jfk.txt", "jfk.json", "jfk.verbose.json", "jfk.srt", "jfk.vtt", "jfk.tsv", "jfk.lrc"}
    assert {p.name for p in every.iterdir()} == names
    assert "segments" in json.loads((every / "jfk.verbose.json").read_text(encoding="utf-8"))
    assert (every / "jfk.srt").read_text(encoding="utf-8").startswith("1\n00:00:00,")
