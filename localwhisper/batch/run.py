"""``run_batch``: inputs in, a mirrored tree of transcripts and a manifest out.

The steps, in order: resolve the model (an unknown one fails here, before any work);
take the manifest's lock; remove temporaries a killed run left; collect the inputs;
skip those done before (same options, same source size and mtime, every wanted
output there with its recorded size; or a file-level error such as undecodable
audio); hand the rest to the runner; append each record as it comes back; close the
run with a summary line. Ctrl-C stops the runner, keeps every finished record, and
still writes the summary, so a rerun picks up exactly where this one stopped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from localwhisper.batch.inputs import BatchItem, collect_inputs
from localwhisper.batch.job import BatchJob, ModelSpec
from localwhisper.batch.manifest import PERMANENT_ERRORS, Manifest, Record
from localwhisper.batch.outputs import LocalTree, OutputTree, open_tree, outputs_complete
from localwhisper.batch.progress import Progress, Summary
from localwhisper.errors import BatchError

MANIFEST_NAME = "manifest.jsonl"


def done_before(previous: Record | None, item: BatchItem, options_key: str, wanted: Sequence[str],
                tree: OutputTree, *, retry_errors: bool = False) -> bool:
    """Whether ``item`` needs no work: ``previous`` (its last record) still holds."""
    if previous is None or previous.options_key != options_key:
        return False
    if (previous.source_size, previous.source_mtime_ns) != (item.size, item.mtime_ns):
        return False  # the file changed since
    if not previous.ok:
        return not retry_errors and previous.error_type in PERMANENT_ERRORS
    return outputs_complete(tree, wanted, previous.outputs)


def _runner(model: ModelSpec, job: BatchJob, tree: OutputTree, options_key: str, *, use_ray: bool,
            ray_address: str | None, max_retries: int) -> Any:
    if use_ray:
        from localwhisper.batch.runner_ray import RayRunner

        return RayRunner(model.absolute(), job, tree.url, options_key, address=ray_address,
                         max_retries=max_retries)
    from localwhisper.batch.runner_local import LocalRunner

    return LocalRunner(model, job, tree.url, options_key)


def run_batch(inputs: Sequence[str], output_root: str, model: ModelSpec, job: BatchJob, *,
              use_ray: bool = False, ray_address: str | None = None, manifest_path: str | None = None,
              retry_errors: bool = False, max_retries: int = 3, stream: TextIO | None = None,
              on_runner: Callable[[Any], None] | None = None) -> Summary:
    """Transcribe every input under ``output_root``; returns the run's :class:`Summary`.

    ``use_ray`` runs on a Ray cluster (``ray_address``: ``auto``, ``ray://host:10001``,
    or None to start a local one); otherwise the embedded state pool does the work.
    ``on_runner`` sees the runner once it is up (tests use it to find the workers).
    """
    stream = stream or sys.stderr
    started = time.monotonic()
    tree = open_tree(output_root)
    if manifest_path is None:
        if not isinstance(tree, LocalTree):
            raise BatchError(f"the output {output_root} is a URL: name a local manifest file with --manifest")
        manifest_path = str(tree.root / MANIFEST_NAME)
    options_key = job.options_key(model.identity())
    with Manifest(manifest_path) as manifest:
        tree.remove_partials()
        collected = collect_inputs(inputs, exclude=[tree.root] if isinstance(tree, LocalTree) else [])
        todo = [item for item in collected.items
                if not done_before(manifest.previous.get(item.key), item, options_key,
                                   job.output_names(item.stem), tree, retry_errors=retry_errors)]
        summary = Summary(skipped=len(collected.items) - len(todo), ignored=len(collected.ignored))
        progress = Progress(stream, len(todo), sum(item.duration_ms or 0 for item in todo))
        try:
            if todo:
                _run(_runner(model, job, tree, options_key, use_ray=use_ray, ray_address=ray_address,
                             max_retries=max_retries), todo, manifest, summary, progress, on_runner)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            progress.finish()
            summary.wall_seconds = time.monotonic() - started
            manifest.append_summary(summary.to_dict())
            tree.remove_partials()
    return summary


def _run(runner: Any, todo: list[BatchItem], manifest: Manifest, summary: Summary, progress: Progress,
         on_runner: Callable[[Any], None] | None) -> None:
    with runner:
        summary.runner = runner.describe()
        if on_runner is not None:
            on_runner(runner)
        records = runner.run(todo)
        try:
            for record in records:
                manifest.append(record)
                summary.add(record)
                progress.advance(record)
        finally:
            records.close()
