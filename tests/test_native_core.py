"""Native core against the real library: handles, threads, callbacks, logs, q8_0."""

from __future__ import annotations

import contextlib
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
    params.set(**{"n_threads": 1, "language": "en", "max_tokens": 8, **fields})
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


def test_encoder_kv_pad_is_f32_on_cpu(weightless_tiny_en: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Patch 0007: the encoder's flash-attention K/V are F32 on the CPU (2 x 384 x 1536 x 4 bytes)."""
    import logging
    import re

    from whisper_native import ContextOptions, WhisperContext

    with caplog.at_level(logging.DEBUG, logger="whisper_native.cpp"), \
            WhisperContext(weightless_tiny_en, ContextOptions(use_gpu=False)) as ctx, ctx.new_state():
        pass
    sizes = [float(m.group(1)) for r in caplog.records
             if (m := re.search(r"kv pad +size += +([0-9.]+) MB", r.getMessage()))]
    assert sizes, "no kv pad size line in the native log"
    assert sizes[-1] == pytest.approx(2 * 384 * 1536 * 4 / 1e6, abs=0.01)  # F16 would be 2.36 MB


def test_q8_0_model_runs_without_sigill(weightless_tiny_en_q8_0: Path) -> None:
    done = subprocess.run([sys.executable, "-c", RUN_MODEL, str(weightless_tiny_en_q8_0)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode} (SIGILL is -4): {done.stderr[-500:]}"
    assert "ftype 7" in done.stdout  # GGML_FTYPE_MOSTLY_Q8_0


def test_abort_stops_within_a_graph_node(weightless_tiny_en: Path) -> None:
    """Patch 0002: abort polled per ggml graph node, not between encoder/decoder passes."""
    import time

    from whisper_native import Aborted, WhisperContext, run_full

    audio = noise(90.0, seed=3)  # three windows: longer than the latest abort on a fast CPU
    with WhisperContext(weightless_tiny_en) as ctx, ctx.new_state() as state:
        started = time.perf_counter()
        run_full(ctx, state, greedy_params(max_tokens=1), audio)
        whole_call_s = time.perf_counter() - started
        latencies = []
        for delay_s in (0.06, 0.1, 0.14, 0.18, 0.22, 0.26):
            params = greedy_params(max_tokens=1)
            finished: list[float] = []

            def transcribe(params=params, finished=finished) -> None:
                with contextlib.suppress(Aborted):
                    run_full(ctx, state, params, audio)
                finished.append(time.perf_counter())

            worker = threading.Thread(target=transcribe)
            worker.start()
            time.sleep(delay_s)
            aborted_at = time.perf_counter()
            params.abort_flag.set()
            worker.join(timeout=30)
            latencies.append(finished[0] - aborted_at)
    latencies.sort()
    # Three encoder passes of 30 s on one thread are far longer than any graph node.
    assert whole_call_s > 0.5, f"the call is too short ({whole_call_s:.2f} s) to tell"
    assert latencies[len(latencies) // 2] < 0.1, latencies
    assert latencies[-1] < 0.25, latencies


def test_no_speech_prob_separates_silence_from_speech(ggml_tiny_en: Path) -> None:
    """Patch 0003: no_speech_prob read at <|startoftranscript|>, so it means something."""
    from conftest import JFK_WAV

    from localwhisper.audio import decode_audio
    from whisper_native import WhisperContext, read_segments, run_full

    def no_speech_probs(samples: np.ndarray) -> list[float]:
        params = greedy_params(max_tokens=0, no_speech_thold=1.0)  # keep the silent window's segment
        run_full(ctx, state, params, samples)
        return [segment.no_speech_prob for segment in read_segments(ctx, state)]

    with WhisperContext(ggml_tiny_en) as ctx, ctx.new_state() as state:
        silence = no_speech_probs(np.zeros(16000 * 10, dtype=np.float32))
        speech = no_speech_probs(decode_audio(JFK_WAV))
    assert silence and min(silence) > 0.5, silence
    assert speech and max(speech) < 0.2, speech


def test_amx_tile_configuration_is_stored_before_it_is_loaded() -> None:
    """Patch 0001, checked in the machine code on any CPU: before each ``ldtilecfg`` the
    variant stores the rows/colsb fields of the 64-byte configuration (unpatched, GCC kept
    only the palette byte, so every tile had 0 rows and the first ``tileloadd`` was SIGILL)."""
    import re
    import shutil

    from whisper_native._loader import library_dir

    library = library_dir() / "libggml-cpu-sapphirerapids.so"
    if shutil.which("objdump") is None or not library.exists():
        pytest.skip("needs objdump and the sapphirerapids variant (x86-64 all-variants build)")
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)],
                             capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    loads = [i for i, line in enumerate(listing) if "ldtilecfg" in line]
    assert loads, "no ldtilecfg in the AMX variant"
    for index in loads:
        config = re.search(r"ldtilecfg\s+(-?0x[0-9a-f]+|)\((%r[sb]p)\)", listing[index])
        assert config, listing[index]
        base = int(config.group(1) or "0", 16)
        stored = set()
        for line in listing[max(0, index - 40):index]:
            store = re.search(r",(-?0x[0-9a-f]+|)\(" + re.escape(config.group(2)) + r"\)$", line.strip())
            if store and not line.split()[1].startswith(("cmp", "test", "ldtilecfg")):
                stored.add(int(store.group(1) or "0", 16) - base)
        assert stored & set(range(16, 48)), f"colsb never stored before {listing[index]}"
        assert stored & set(range(48, 64)), f"rows never stored before {listing[index]}"


def test_build_info_lists_the_patch_series() -> None:
    import whisper_native

    info = whisper_native.build_info()
    names = [patch["name"] for patch in info["patches"]]
    shipped = sorted(p.name for p in (Path(__file__).parents[1] / "vendor" / "patches").glob("*.patch"))
    assert names == shipped
    assert all(patch["subject"] and len(patch["sha256"]) == 64 for patch in info["patches"])
    assert "PATCHES = " + ",".join(shipped) in whisper_native.system_info()


def test_prompt_projection_keeps_tokens_identical(ggml_tiny_en: Path) -> None:
    """Patch 0004: a prompt batch projects only the rows it reads, and they are the right rows.

    The logits after a whole prompt decoded in one batch (the reduced projection) must match
    those after the same prompt decoded token by token (each batch's one row: the full
    projection), and so must the next token."""
    import ctypes

    from conftest import JFK_WAV

    from localwhisper.audio import decode_audio
    from whisper_native import WhisperContext
    from whisper_native import whisper_h as C

    def decode(tokens: list[int], n_past: int) -> np.ndarray:
        array = (ctypes.c_int32 * len(tokens))(*tokens)
        assert C.whisper_decode_with_state(ctx.pointer, state.pointer, array, len(tokens), n_past, 2) == 0
        rows = np.ctypeslib.as_array(C.whisper_get_logits_from_state(state.pointer),
                                     shape=(len(tokens) * n_vocab,))
        return rows[(len(tokens) - 1) * n_vocab:].copy()

    samples = decode_audio(JFK_WAV)
    with WhisperContext(ggml_tiny_en) as ctx, ctx.new_state() as state:
        n_vocab = C.whisper_n_vocab(ctx.pointer)
        pointer = samples.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert C.whisper_pcm_to_mel_with_state(ctx.pointer, state.pointer, pointer, len(samples), 2) == 0
        assert C.whisper_encode_with_state(ctx.pointer, state.pointer, 0, 2) == 0
        prompt = [C.whisper_token_prev(ctx.pointer), *ctx.tokenize(" And so my fellow Americans,"),
                  C.whisper_token_sot(ctx.pointer), C.whisper_token_not(ctx.pointer)]
        batched = decode(prompt, 0)
        for position, token in enumerate(prompt):
            single = decode([token], position)
    assert int(batched.argmax()) == int(single.argmax())
    assert np.abs(batched - single).max() < 0.02 * np.abs(single).max()


def test_beam_fallback_runs_on_uncertain_windows(ggml_tiny_en: Path) -> None:
    """Patch 0005: greedy with a beam-search fallback decodes beams only below its threshold.

    A threshold above every window's average log-probability (0) must give beam search's
    tokens exactly; one below every window's must give greedy's exactly."""
    from conftest import JFK_WAV

    from localwhisper.audio import decode_audio
    from whisper_native import FullParams, WhisperContext, read_segments, run_full
    from whisper_native import whisper_h as C

    def tokens(params: FullParams) -> list[int]:
        # a fresh state each: beam search over a KV cache laid out by an earlier call can
        # differ in the last float bits, and so in a close choice between two beams
        params.set(n_threads=2, language="en")
        with ctx.new_state() as state:
            run_full(ctx, state, params, samples)
            return [t.id for s in read_segments(ctx, state) for t in s.tokens]

    samples = decode_audio(JFK_WAV)
    with WhisperContext(ggml_tiny_en) as ctx:
        greedy = tokens(FullParams())
        beam = tokens(FullParams(C.WHISPER_SAMPLING_BEAM_SEARCH).set_beam_search(5))
        above = tokens(FullParams().set_beam_fallback(5, 0.0))
        below = tokens(FullParams().set_beam_fallback(5, -100.0))
        off = tokens(FullParams().set_beam_fallback(0, 0.0))
    assert greedy != beam, "tiny.en decodes jfk.wav differently with beams: the test needs that"
    assert above == beam
    assert below == greedy
    assert off == greedy
