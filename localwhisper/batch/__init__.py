"""Batch transcription of large collections: ``run_batch`` (:mod:`.run`).

:mod:`.inputs` finds the files, :mod:`.job` says what to do with each, :mod:`.worker` does
it (one file → its outputs, written atomically by :mod:`.outputs`, and a record),
:mod:`.runner_local` (the embedded state pool) or :mod:`.runner_ray` (an actor pool on a
Ray cluster) runs the workers, and :mod:`.manifest` keeps the records that make a rerun
resume. Nothing is imported here, so Ray and the native library load only when used.
"""
