"""``localwhisper batch``: a mixed archive, embedded and on a local Ray cluster; reruns skip,
a killed Ray worker costs one retry, a killed run resumes. Real tiny.en, real files."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import JFK_TEXT, JFK_WAV, REPO_ROOT, encode_with_pyav, normalise_text

from localwhisper.batch.inputs import collect_inputs
from localwhisper.batch.job import BatchJob, ModelSpec, parse_formats
from localwhisper.batch.manifest import Manifest, Record, read_records, read_summaries
from localwhisper.batch.outputs import PARTIAL_SUFFIX, LocalTree
from localwhisper.batch.run import run_batch
from localwhisper.cli import main

pytestmark = pytest.mark.native

# The archive: input path -> its output stem below OUT_DIR (its path, without the extension
# unless two inputs of one folder share a stem).
ARCHIVE = {
    "archive/talks/jfk.wav": "archive/talks/jfk.wav",
    "archive/talks/jfk.opus": "archive/talks/jfk.opus",
    "archive/talks/2024/speech.flac": "archive/talks/2024/speech",
    "archive/talks/2024/speech-ogg.ogg": "archive/talks/2024/speech-ogg",
    "archive/interviews/jfk.m4a": "archive/interviews/jfk",
    "archive/interviews/video.mkv": "archive/interviews/video",
    "archive/interviews/clip.webm": "archive/interviews/clip",
    "archive/interviews/actually-flac.mp3": "archive/interviews/actually-flac",  # a misleading name
    "archive/recording": "archive/recording",  # no extension: found by content
    "archive/misc/data.bin": "archive/misc/data",  # an Ogg file under a non-media extension
    "extra/listed.wav": "extra/listed",  # named in @list.txt
}
CORRUPT = "archive/talks/broken.wav"
GREEDY = {"beam_size": 1}  # the tests check files, not decoding: the cheapest decoding
NOT_AUDIO = "archive/misc/readme.txt"


def _has_encoder(name: str) -> bool:
    return name in av.codecs_available


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("batch-inputs")
    expected = dict(ARCHIVE)
    if _has_encoder("libmp3lame"):
        expected["archive/talks/2024/jfk.mp3"] = "archive/talks/2024/jfk"
    for name in expected:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
    made = root / "made"
    made.mkdir()
    shutil.copyfile(JFK_WAV, root / "archive/talks/jfk.wav")
    shutil.copyfile(JFK_WAV, root / "extra/listed.wav")
    shutil.copyfile(JFK_WAV, root / "archive/recording")
    encode_with_pyav(JFK_WAV, root / "archive/talks/2024/speech.flac", "flac")
    encode_with_pyav(JFK_WAV, made / "a.ogg", "libopus").rename(root / "archive/talks/jfk.opus")
    encode_with_pyav(JFK_WAV, root / "archive/talks/2024/speech-ogg.ogg", "libopus")
    encode_with_pyav(JFK_WAV, root / "archive/interviews/jfk.m4a", "aac")
    encode_with_pyav(JFK_WAV, root / "archive/interviews/video.mkv", "aac", video=True)
    encode_with_pyav(JFK_WAV, root / "archive/interviews/clip.webm", "libopus")
    encode_with_pyav(JFK_WAV, made / "b.flac", "flac").rename(root / "archive/interviews/actually-flac.mp3")
    encode_with_pyav(JFK_WAV, made / "c.ogg", "libopus").rename(root / "archive/misc/data.bin")
    if "archive/talks/2024/jfk.mp3" in expected:
        encode_with_pyav(JFK_WAV, root / "archive/talks/2024/jfk.mp3", "libmp3lame")
    shutil.rmtree(made)
    (root / CORRUPT).write_bytes(JFK_WAV.read_bytes()[:40])  # a header cut short: no audio
    (root / NOT_AUDIO).write_text("notes, not audio\n", encoding="utf-8")
    (root / "list.txt").write_text(f"# extra inputs\n{root / 'extra/listed.wav'}\n", encoding="utf-8")
    return root, expected


def _arguments(root: Path) -> list[str]:
    return [str(root / "archive"), f"@{root / 'list.txt'}"]


def _cli(root: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return ["batch", *_arguments(root), "-o", str(out), "-m", str(model), "-f", "text,json", "-t", "1",
            "--beam-size", "1", *extra]


def _manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def _check_outputs(out: Path, expected: dict[str, str]) -> None:
    """Every input's .txt and .json, with jfk's words, and nothing else in the tree."""
    wanted = {f"{stem}.{ext}" for stem in expected.values() for ext in ("txt", "json")}
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert present == wanted | {"manifest.jsonl"}
    for name in wanted:
        text = (out / name).read_text(encoding="utf-8")
        if name.endswith(".json"):
            text = json.loads(text)["text"]
        assert normalise_text(text) == normalise_text(JFK_TEXT), name


def _check_records(out: Path, expected: dict[str, str]) -> dict[str, Record]:
    records = read_records(out / "manifest.jsonl")
    assert set(records) == {*expected, CORRUPT}
    for key in expected:
        record = records[key]
        assert record.status == "ok", record
        assert 10.9 < record.audio_seconds < 11.1 and record.language == "en"
        assert set(record.outputs) == {f"{expected[key]}.txt", f"{expected[key]}.json"}
        assert record.wall_seconds > 0 and record.error is None
    bad = records[CORRUPT]
    assert bad.status == "error" and bad.error_type == "InvalidAudio" and bad.outputs == {}
    return records


def test_inputs_found_by_content_and_mirrored(archive: tuple[Path, dict[str, str]]) -> None:
    root, expected = archive
    collected = collect_inputs(_arguments(root))
    assert {item.key: item.stem for item in collected.items} == {**expected, CORRUPT: "archive/talks/broken"}
    assert collected.ignored == (str(root / NOT_AUDIO),)
    durations = {item.key: item.duration_ms for item in collected.items}
    assert all(10_900 < (durations[key] or 0) < 11_200 for key in expected)


def test_formats_and_options_key() -> None:
    assert parse_formats("srt,json,srt") == ("srt", "json")
    with pytest.raises(ValueError, match="docx"):
        parse_formats("srt,docx")
    job = BatchJob.create(("srt",), {"language": "en"})
    assert job.options_key("m") == BatchJob.create(("json", "text"), {"language": "en"}).options_key("m")
    assert job.options_key("m") != BatchJob.create(("srt",), {"language": "de"}).options_key("m")
    assert job.options_key("m") != job.options_key("other-model")


def test_manifest_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    good = Record(input="a", path="/a", status="ok", outputs={"a.txt": 3})
    path.write_text(good.to_json() + "\n" + '{"input": "b", "sta', encoding="utf-8")
    with Manifest(path) as manifest:
        assert set(manifest.previous) == {"a"}
        with pytest.raises(Exception, match="another batch"):
            Manifest(path)
        manifest.append(Record(input="b", path="/b", status="error", error_type="InvalidAudio"))
    assert set(read_records(path)) == {"a", "b"}


def test_embedded_batch_then_rerun_skips(archive: tuple[Path, dict[str, str]], ggml_tiny_en: Path,
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, expected = archive
    out = tmp_path / "out"
    assert main(_cli(root, out, ggml_tiny_en, "--states", "2")) == 1  # the corrupt file
    _check_outputs(out, expected)
    _check_records(out, expected)
    err = capsys.readouterr().err
    assert f"{len(expected)} ok, 1 error, 0 skipped" in err and "1 not audio (ignored)" in err
    assert "audio hours per hour" in err

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "manifest.jsonl"}
    lines = len(_manifest_lines(out))
    assert main(_cli(root, out, ggml_tiny_en, "--states", "2")) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "manifest.jsonl"} == mtimes
    assert len(_manifest_lines(out)) == lines + 1  # only the summary line
    last = read_summaries(out / "manifest.jsonl")[-1]
    assert (last["ok"], last["error"], last["skipped"]) == (0, 0, len(expected) + 1)


def test_without_ray_the_message_says_how_to_install(ggml_tiny_en: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were absent
    shutil.copyfile(JFK_WAV, tmp_path / "jfk.wav")
    assert main(["batch", str(tmp_path / "jfk.wav"), "-o", str(tmp_path / "out"), "-m", str(ggml_tiny_en),
                 "--ray"]) == 1
    assert "pip install 'localwhisper[ray]'" in capsys.readouterr().err


@pytest.mark.timeout(600)  # two CLI runs: slow on a loaded machine
def test_killed_embedded_run_resumes(ggml_tiny_en: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"clip-{index:02d}.wav" for index in range(8)]
    for name in names:
        shutil.copyfile(JFK_WAV, folder / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "localwhisper", "batch", str(folder), "-o", str(out), "-m",
               str(ggml_tiny_en), "-f", "text,json", "-t", "1", "--states", "2", "--beam-size", "1"]
    log = tmp_path / "first-run.log"
    with log.open("wb") as sink:
        child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and child.poll() is None:
        if manifest.is_file() and manifest.read_text(encoding="utf-8").count("\n") >= 2:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, log.read_text()
    done_before = set(read_records(manifest))
    assert 2 <= len(done_before) < len(names)

    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr
    assert f"{len(names) - len(done_before)} ok, 0 error, {len(done_before)} skipped" in result.stderr
    lines = [line for line in _manifest_lines(out) if "input" in line]
    assert Counter(line["input"] for line in lines) == Counter(names)
    assert not [p for p in out.rglob("*") if p.name.endswith(PARTIAL_SUFFIX)]
    for name in names:
        stem = Path(name).stem
        assert normalise_text((out / f"{stem}.txt").read_text()) == normalise_text(JFK_TEXT)
        body = json.loads((out / f"{stem}.json").read_text())
        assert normalise_text(body["text"]) == normalise_text(JFK_TEXT)


def test_fsspec_url_output(ggml_tiny_en: Path, tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    shutil.copyfile(JFK_WAV, tmp_path / "jfk.wav")
    url = f"file://{tmp_path / 'bucket' / 'prefix'}"
    job = BatchJob.create(("srt",), GREEDY)
    model = ModelSpec(str(ggml_tiny_en), n_states=1, n_threads=1)
    with pytest.raises(Exception, match="--manifest"):
        run_batch([str(tmp_path / "jfk.wav")], url, model, job)
    manifest = str(tmp_path / "manifest.jsonl")
    summary = run_batch([str(tmp_path / "jfk.wav")], url, model, job, manifest_path=manifest)
    assert summary.ok == 1
    assert (tmp_path / "bucket/prefix/jfk.srt").read_text(encoding="utf-8").startswith("1\n00:00:00,")
    again = run_batch([str(tmp_path / "jfk.wav")], url, model, job, manifest_path=manifest)
    assert (again.ok, again.skipped) == (0, 1)
    other = BatchJob.create(("srt",), {**GREEDY, "language": "en"})  # another option: done again
    assert run_batch([str(tmp_path / "jfk.wav")], url, model, other, manifest_path=manifest).ok == 1
    assert LocalTree(tmp_path / "bucket").remove_partials() == 0


# --- on a local Ray cluster (started once for these tests, last) ---
@pytest.fixture(scope="module")
def ray_cluster():
    """A 2-CPU local cluster with a small object store. Ray's own helpers may drop a pipe
    unclosed: its ResourceWarning is silenced here, and garbage is collected before the
    next module, so no later test inherits it."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for attempt in range(3):  # Ray gives its raylet 30 s to start: not always enough under load
            try:
                ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024,
                         log_to_driver=False)
                break
            except Exception as exc:
                ray.shutdown()
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise
    yield ray
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        ray.shutdown()
        gc.collect()


@pytest.mark.timeout(600)  # a Ray start is slow on a loaded machine
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_ray_batch_matches_embedded(archive: tuple[Path, dict[str, str]], ggml_tiny_en: Path,
                                    tmp_path: Path, ray_cluster, capsys: pytest.CaptureFixture[str]) -> None:
    root, expected = archive
    out = tmp_path / "out"
    assert main(_cli(root, out, ggml_tiny_en, "--ray", "auto")) == 1
    _check_outputs(out, expected)
    records = _check_records(out, expected)
    assert "ray: 2 actor(s) × 1 thread(s)" in capsys.readouterr().err
    assert len({record.worker for record in records.values()}) == 2  # both actors worked
    assert len(_manifest_lines(out)) == len(expected) + 2  # one line per input + the summary

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "manifest.jsonl"}
    assert main(_cli(root, out, ggml_tiny_en, "--ray", "auto")) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "manifest.jsonl"} == mtimes
    assert read_summaries(out / "manifest.jsonl")[-1]["skipped"] == len(expected) + 1


def _long_clips(folder: Path, count: int, repeats: int) -> list[str]:
    """``count`` distinct wav files of jfk × ``repeats`` (a second of silence between)."""
    import wave

    with wave.open(str(JFK_WAV)) as source:
        frames = np.frombuffer(source.readframes(source.getnframes()), np.int16)
    folder.mkdir()
    names = []
    for index in range(count):
        gap = np.zeros(16000 + index, np.int16)  # distinct bytes per file
        samples = np.concatenate([part for _ in range(repeats) for part in (frames, gap)])
        name = f"long-{index:02d}.wav"
        with wave.open(str(folder / name), "wb") as target:
            target.setnchannels(1)
            target.setsampwidth(2)
            target.setframerate(16000)
            target.writeframes(samples.tobytes())
        names.append(name)
    return names


@pytest.mark.timeout(600)  # a Ray start is slow on a loaded machine
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_ray_worker_killed_mid_file_costs_one_retry(ggml_tiny_en: Path, tmp_path: Path, ray_cluster) -> None:
    names = _long_clips(tmp_path / "long", count=4, repeats=3)
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_first_worker(runner) -> None:
        def kill() -> None:
            deadline = time.monotonic() + 60
            while not runner.workers and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)  # the worker has started on its first 36 s file
            pid = runner.workers[0]["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        threading.Thread(target=kill, daemon=True).start()

    summary = run_batch([str(tmp_path / "long")], str(out), ModelSpec(str(ggml_tiny_en), n_threads=1),
                        BatchJob.create(("text", "json"), GREEDY), use_ray=True, on_runner=kill_first_worker)
    assert killed and (summary.ok, summary.error, summary.retried) == (4, 0, 1)
    lines = [line for line in _manifest_lines(out) if "input" in line]
    assert Counter(line["input"] for line in lines) == Counter(names)  # one line per input
    assert sorted(line["attempts"] for line in lines) == [1, 1, 1, 2]
    assert str(killed[0]) not in {line["worker"].rpartition(":")[2] for line in lines}
    present = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    wanted = sorted(f"{Path(n).stem}.{ext}" for n in names for ext in ("json", "txt"))
    assert present == sorted([*wanted, "manifest.jsonl"])
    for name in wanted:
        if name.endswith(".json"):
            assert normalise_text(JFK_TEXT) in normalise_text(json.loads((out / name).read_text())["text"])
