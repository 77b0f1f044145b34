"""Native core against the real library: handles, threads, callbacks, logs, q8_0."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.native


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16000 * seconds)) * 0.01).astype(np.float32)


def greedy_params(**fields: object):
    from whisper_native import FullParams

    params = FullParams()
    params.set(n_threads=1, language="en", max_tokens=8, **fields)
    return params


def test_system_info_reports_a_cpu_variant() -> None:
    import whisper_native

    info = whisper_native.system_info()
    assert "CPU" in info
    assert whisper_native.cpu_variant(), "ggml loaded no libggml-cpu-<variant> module"


def test_no_state_context_with_two_states_runs_in_parallel(weightless_tiny_en: Path) -> None:
    from whisper_native import WhisperContext, read_segments, run_full

    with WhisperContext(weightless_tiny_en) as ctx:
        assert ctx.dims.n_vocab == 51864 and not ctx.dims.multilingual
        states = [ctx.new_state(), ctx.new_state()]
        errors: list[BaseException] = []
        counts: list[int] = []

        def work(state) -> None:
            try:
                run_full(ctx, state, greedy_params(), noise(2.0))
                counts.append(len(read_segments(ctx, state)))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in states]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert len(counts) == 2
        for state in states:
            state.close()


def test_exception_in_callback_aborts_and_resurfaces(weightless_tiny_en: Path) -> None:
    from whisper_native import WhisperContext, run_full

    class Boom(Exception):
        pass

    calls: list[int] = []

    def explode(tokens, logits) -> None:
        calls.append(len(tokens))
        raise Boom("from a logits filter")

    with WhisperContext(weightless_tiny_en) as ctx, ctx.new_state() as state:
        params = greedy_params().on_logits(explode)
        with pytest.raises(Boom):
            run_full(ctx, state, params, noise(3.0))
        assert len(calls) == 1, "the callback must not run again after it raised"
        assert params.abort_flag.is_set()


def test_abort_flag_stops_the_call(weightless_tiny_en: Path) -> None:
    from whisper_native import Aborted, FullParams, WhisperContext, run_full

    with WhisperContext(weightless_tiny_en) as ctx, ctx.new_state() as state:
        params = FullParams().set(n_threads=1, language="en")
        params.abort_flag.set()
        with pytest.raises(Aborted):
            run_full(ctx, state, params, noise(5.0))


def test_closing_twice_is_harmless_and_use_after_close_raises(weightless_tiny_en: Path) -> None:
    from whisper_native import HandleClosed, WhisperContext

    ctx = WhisperContext(weightless_tiny_en)
    state = ctx.new_state()
    state.close()
    state.close()
    with pytest.raises(HandleClosed):
        _ = state.pointer
    ctx.close()
    ctx.close()
    with pytest.raises(HandleClosed):
        ctx.tokenize("hello")


def test_context_outlives_close_while_a_state_is_open(weightless_tiny_en: Path) -> None:
    from whisper_native import WhisperContext, read_segments, run_full

    ctx = WhisperContext(weightless_tiny_en)
    state = ctx.new_state()
    ctx.close()  # deferred: the state still needs the weights
    run_full(ctx, state, greedy_params(), noise(1.0))
    read_segments(ctx, state)
    state.close()
    assert ctx.closed


def test_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    from whisper_native import WhisperContext, WhisperNativeError

    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"not a model" * 100)
    with pytest.raises(WhisperNativeError, match="could not load"):
        WhisperContext(bogus)
    with pytest.raises(WhisperNativeError, match="not found"):
        WhisperContext(tmp_path / "missing.bin")


def test_tokenize_round_trip(weightless_tiny_en: Path) -> None:
    from whisper_native import WhisperContext

    with WhisperContext(weightless_tiny_en) as ctx:
        tokens = ctx.tokenize(" hello world")
        assert tokens and b"".join(ctx.token_bytes(t) for t in tokens) == b" hello world"


RUN_MODEL = """
import sys, numpy as np
import whisper_native
from whisper_native import WhisperContext, FullParams, run_full
ctx = WhisperContext(sys.argv[1])
state = ctx.new_state()
params = FullParams().set(n_threads=2, language="en", max_tokens=4)
run_full(ctx, state, params, (np.random.default_rng(0).standard_normal(32000) * 0.01).astype(np.float32))
print("variant", whisper_native.cpu_variant(), "ftype", ctx.dims.ftype)
"""


def test_native_logs_are_silent_by_default(weightless_tiny_en: Path) -> None:
    done = subprocess.run([sys.executable, "-c", RUN_MODEL, str(weightless_tiny_en)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("variant ")


def test_native_logs_reach_python_logging(weightless_tiny_en: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from whisper_native import WhisperContext

    with caplog.at_level(logging.DEBUG, logger="whisper_native.cpp"), WhisperContext(weightless_tiny_en):
        pass
    assert any("whisper" in r.getMessage() for r in caplog.records if r.name == "whisper_native.cpp")


def test_q8_0_model_runs_without_sigill(weightless_tiny_en: Path, tmp_path: Path) -> None:
    from whisper_native._loader import tool_path

    quantized = tmp_path / "tiny.en-q8_0.bin"
    subprocess.run([str(tool_path("whisper-quantize")), str(weightless_tiny_en), str(quantized), "q8_0"],
                   capture_output=True, check=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", RUN_MODEL, str(quantized)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode} (SIGILL is -4): {done.stderr[-500:]}"
    assert "ftype 7" in done.stdout  # GGML_FTYPE_MOSTLY_Q8_0
