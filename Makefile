# localwhisper — the two commands that matter:
#   make run    build everything, fetch the default models (offline-capable), serve on :8080
#   make test   build everything, fetch the test models, run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
MODELS_DIR ?= models
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=
NATIVE_INPUTS := pyproject.toml CMakeLists.txt vendor/whisper.cpp.lock vendor/fetch_whisper_cpp.py \
                 vendor/patch_series.py $(wildcard vendor/patches/*.patch) $(wildcard whisper_native/*.c) \
                 $(wildcard cmake/*.cmake)

.PHONY: build run test lint bench models browser clean distclean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# CUDA: CMAKE_ARGS="-DGGML_CUDA=on" make build [CUDA_ARCHS=90|native]; cuBLAS from the toolkit,
# else the nvidia-cublas wheel installed into the venv (vendor/cuda_setup.py). `make clean` first
# when switching between CPU and CUDA builds.
CUDA_ARCHS ?= 75;80;86;89;90;120
CUDA_ON := $(filter -DGGML_CUDA=on -DGGML_CUDA=ON -DGGML_CUDA=On -DGGML_CUDA=1,$(CMAKE_ARGS))

# Editable install: CMake builds libwhisper + ggml into build/, copied to whisper_native/lib.
$(VENV)/.installed: $(PY) $(NATIVE_INPUTS)
	$(PY) vendor/fetch_whisper_cpp.py
ifneq ($(CUDA_ON),)
	$(PY) vendor/cuda_setup.py --archs '$(CUDA_ARCHS)' > $(VENV)/.cuda-cmake-args
	CMAKE_ARGS="$(CMAKE_ARGS) $$(cat $(VENV)/.cuda-cmake-args)" $(PIP) install --quiet -e '.[test]'
else
	$(PIP) install --quiet -e '.[test]'
endif
	@touch $@

build: $(VENV)/.installed

models: build
	$(PY) -m localwhisper models --models-dir $(MODELS_DIR) ensure-defaults

run: models
	$(PY) -m localwhisper serve --models-dir $(MODELS_DIR) --host $(HOST) --port $(PORT)

# Headless Chromium for the web-page test (Debian package; best effort, root only).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed: the web page test will be skipped"

test: models browser
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: build
	$(PY) -m ruff check .

bench: models
	$(PIP) install --quiet -e '.[test,bench]'
	$(PY) bench/run_all.py

clean:
	rm -rf build whisper_native/lib dist *.egg-info $(VENV)/.installed

distclean: clean
	rm -rf $(VENV) vendor/whisper.cpp .cache
