"""``localwhisper transcribe FILE...``: files in, subtitles/transcripts out.

Each file gets a progress bar (on a terminal) and a summary line with the audio
duration, wall time and real-time factor. A file that fails prints one line
and the others are still processed; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from localwhisper.device import DEVICE_ENV, context_options_for, parse_device
from localwhisper.errors import LocalWhisperError
from localwhisper.formatters import FORMATS, format_transcription, output_name


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("transcribe", help="transcribe audio/video files",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("-f", "--format", default="text", choices=(*FORMATS, "all"),
                        help="output format (default: text); 'all' writes every format")
    parser.add_argument("-o", "--output-dir", type=Path, default=None,
                        help="write FILE-stem.EXT here (.txt for text) instead of printing to stdout")
    add_model_options(parser)
    parser.add_argument("--device", type=parse_device, default=os.environ.get(DEVICE_ENV, "auto"),
                        help=f"compute device: auto, cpu, cuda or cuda:N (default: ${DEVICE_ENV} or auto)")
    parser.set_defaults(handler=run)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model, decoding and threading options (shared with ``localwhisper batch``)."""
    parser.add_argument("-m", "--model", default="whisper-1",
                        help="model name from the models dir, or a path to a ggml .bin (default: whisper-1)")
    parser.add_argument("--models-dir", type=Path, default=None, help="models directory (default: ./models)")
    parser.add_argument("-l", "--language", default=None, help="language code or name (default: detect)")
    parser.add_argument("--translate", action="store_true", help="translate to English")
    parser.add_argument("--word-timestamps", action="store_true", help="compute word-level timestamps")
    parser.add_argument("--vad", action="store_true", help="transcribe only the speech found by Silero VAD")
    parser.add_argument("-t", "--threads", type=int, default=None, help="threads (default: all cores)")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam search width; 1 = greedy (default: beam 5 on inputs up to 30 s, "
                        "else greedy with beam 5 on uncertain windows)")
    parser.add_argument("--prompt", default=None, help="initial prompt (spelling, names, style)")
    parser.add_argument("--max-line-width", type=int, default=None, help="wrap srt/vtt lines")
    parser.add_argument("--max-line-count", type=int, default=None, help="lines per srt/vtt cue")


class ProgressBar:
    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty()

    def update(self, percent: int) -> None:
        if self.enabled:
            filled = percent * 30 // 100
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _load_model(args: argparse.Namespace) -> Any:
    from localwhisper.models.registry import EngineSettings, ModelRegistry
    from localwhisper.transcribe.engine import Model

    candidate = Path(args.model)
    if candidate.suffix == ".bin" and candidate.is_file():
        return Model(candidate, n_threads=args.threads, n_states=1,
                     context_options=context_options_for(args.device))
    registry = ModelRegistry(args.models_dir, EngineSettings(n_states=1, n_threads=args.threads,
                                                             device=args.device))
    return registry.get(args.model)


def transcribe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {"word_timestamps": args.word_timestamps}
    if args.language:
        overrides["language"] = args.language
    if args.translate:
        overrides["task"] = "translate"
    if args.vad:
        overrides["vad"] = True
    if args.beam_size:
        overrides["beam_size"] = args.beam_size
    if args.prompt:
        overrides["initial_prompt"] = args.prompt
    return overrides


def _write_outputs(result: Any, path: Path, args: argparse.Namespace) -> list[Path]:
    formats = FORMATS if args.format == "all" else (args.format,)
    written: list[Path] = []
    wrap = {"max_line_width": args.max_line_width, "max_line_count": args.max_line_count}
    for fmt in formats:
        opts = wrap if fmt in ("srt", "vtt") else {}
        if fmt == "verbose_json":
            opts = {"include_words": args.word_timestamps}
        body, _media_type = format_transcription(result, fmt, **opts)
        if args.output_dir is None:
            sys.stdout.write(body if body.endswith("\n") else body + "\n")
            continue
        args.output_dir.mkdir(parents=True, exist_ok=True)
        target = args.output_dir / output_name(path.stem, fmt, every_format=args.format == "all")
        target.write_text(body, encoding="utf-8")
        written.append(target)
    return written


def run(args: argparse.Namespace) -> int:
    try:
        model = _load_model(args)
    except LocalWhisperError as exc:
        print(f"localwhisper: {exc.message}", file=sys.stderr)
        return 1
    overrides = transcribe_overrides(args)
    failures = 0
    for path in args.files:
        bar = ProgressBar(path.name, sys.stderr)
        started = time.perf_counter()
        try:
            result = model.transcribe(path, on_progress=bar.update, **overrides)
            written = _write_outputs(result, path, args)
        except LocalWhisperError as exc:
            bar.finish()
            print(f"localwhisper: {path}: {exc.message}", file=sys.stderr)
            failures += 1
            continue
        except OSError as exc:
            bar.finish()
            print(f"localwhisper: {path}: {exc.strerror or exc}", file=sys.stderr)
            failures += 1
            continue
        bar.finish()
        wall = time.perf_counter() - started
        duration = result.info.duration
        rtf = wall / duration if duration else 0.0
        target = f" -> {', '.join(str(p) for p in written)}" if written else ""
        print(f"{path.name}: {duration:.1f} s of audio ({result.info.language}) in {wall:.2f} s, "
              f"RTF {rtf:.3f}{target}", file=sys.stderr)
    return 1 if failures else 0
