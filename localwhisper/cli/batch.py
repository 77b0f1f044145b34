"""``localwhisper batch INPUT... -o OUT_DIR``: transcribe a whole collection, resumably.

INPUT is a file, a folder (walked recursively; audio and video found by content, not
by extension alone) or @list.txt (one path per line). The outputs mirror the input
tree under OUT_DIR (``talks/2024/a.mp3`` → ``OUT_DIR/talks/2024/a.srt``), each written
atomically, and OUT_DIR/manifest.jsonl gets one line per input (status, audio seconds,
language, wall time, outputs, or the error). Run the same command again to resume:
inputs whose outputs are complete under the same options are skipped.

By default the files are transcribed here, concurrently on the state pool
(states × threads = cores). --ray runs them on a Ray cluster instead: --ray auto (the
cluster this machine belongs to), --ray ray://HEAD:10001, or --ray alone to start a
local one; put it after the inputs (or write --ray=ADDRESS). On a cluster, OUT_DIR
must be a path every node sees (a shared volume, or an fsspec URL such as s3://…
with --manifest naming a local file), and so must the inputs and the models.
"""

from __future__ import annotations

import argparse
import sys

from localwhisper.cli.transcribe import add_model_options, transcribe_overrides
from localwhisper.errors import LocalWhisperError

LOCAL_RAY = "local"


def _formats(text: str) -> tuple[str, ...]:
    from localwhisper.batch.job import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("batch", help="transcribe a collection of files, resumably (or on Ray)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="a file, a folder, or @list.txt")
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUT_DIR",
                        help="where the outputs and manifest.jsonl go (a folder or an fsspec URL)")
    parser.add_argument("-f", "--format", default=("text",), type=_formats, metavar="FORMATS",
                        help="one or more of json,text,srt,verbose_json,vtt,tsv,lrc, comma separated, "
                             "or all (default: text)")
    add_model_options(parser)
    parser.add_argument("--states", type=_positive, default=None,
                        help="files transcribed at once: states of the embedded pool, or Ray actors "
                             "(default: cores / threads; on Ray, the cluster's CPUs / threads)")
    parser.add_argument("--ray", nargs="?", const=LOCAL_RAY, default=None, metavar="ADDRESS",
                        help="run on Ray: auto, ray://HOST:10001, or no value to start a local cluster")
    parser.add_argument("--max-retries", type=int, default=3,
                        help="on Ray, tries again a file whose worker died this many times (default: 3)")
    parser.add_argument("--manifest", default=None,
                        help="the manifest file (default: OUT_DIR/manifest.jsonl; required for a URL)")
    parser.add_argument("--retry-errors", action="store_true",
                        help="also redo inputs that failed before as undecodable (default: skip them)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from localwhisper.batch.job import BatchJob, ModelSpec
    from localwhisper.batch.run import run_batch

    if args.threads is not None and args.threads < 1:
        print("localwhisper: --threads must be at least 1", file=sys.stderr)
        return 2
    model = ModelSpec(args.model, str(args.models_dir) if args.models_dir else None,
                      n_states=args.states, n_threads=args.threads)
    job = BatchJob.create(args.format, transcribe_overrides(args), max_line_width=args.max_line_width,
                          max_line_count=args.max_line_count)
    try:
        summary = run_batch(args.inputs, str(args.output_dir), model, job, use_ray=args.ray is not None,
                            ray_address=None if args.ray in (None, LOCAL_RAY) else args.ray,
                            manifest_path=args.manifest, retry_errors=args.retry_errors,
                            max_retries=args.max_retries, stream=sys.stderr)
    except LocalWhisperError as exc:
        print(f"localwhisper: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"localwhisper: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    for line in summary.lines():
        print(line, file=sys.stderr)
    if summary.interrupted:
        return 130
    return 1 if summary.error else 0
