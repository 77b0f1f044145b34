"""How the native library uses threads and system calls, checked on the built modules and in children."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localwhisper.models.weights import amx_tiles_usable
from whisper_native._loader import library_dir

# Counts arch_prctl(ARCH_REQ_XCOMP_PERM, ...) requests made through libc's syscall(), which
# is how ggml asks for the AMX tile permission; the count is written at exit.
COUNTING_SYSCALL_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

static atomic_long xcomp_requests;

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_arch_prctl && a[0] == 0x1023) atomic_fetch_add(&xcomp_requests, 1);
    static long (*real)(long, ...);
    if (!real) real = (long (*)(long, ...)) dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("XCOMP_COUNT_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) { fprintf(f, "%ld\n", (long) xcomp_requests); fclose(f); }
}
"""

# three transcriptions of 2 s on one state: a few hundred scheduled operations
TRANSCRIBE_THRICE = """
import sys, numpy as np
from whisper_native import WhisperContext, FullParams, run_full
ctx = WhisperContext(sys.argv[1])
state = ctx.new_state()
audio = (np.random.default_rng(0).standard_normal(32000) * 0.01).astype(np.float32)
for _ in range(3):
    run_full(ctx, state, FullParams().set(n_threads=2, language="en", max_tokens=8), audio)
"""


def test_amx_permission_requested_once_per_thread(weightless_tiny_en_q8_0: Path, tmp_path: Path) -> None:
    """Patch 0006: one request per process (plus one per worker thread, patch 0001), not one per operation."""
    if not amx_tiles_usable():
        pytest.skip("this CPU's ggml variant has no AMX buffer type")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the counting wrapper")
    wrapper = tmp_path / "count_syscall.so"
    source = tmp_path / "count_syscall.c"
    source.write_text(COUNTING_SYSCALL_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(wrapper), str(source), "-ldl"],
                   check=True, capture_output=True, timeout=60)
    count_file = tmp_path / "count.txt"
    env = {"LD_PRELOAD": str(wrapper), "XCOMP_COUNT_FILE": str(count_file), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", TRANSCRIBE_THRICE, str(weightless_tiny_en_q8_0)], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-800:]
    requests = int(count_file.read_text())
    # before the patch: one per operation the scheduler placed (thousands here)
    assert 1 <= requests <= 16, f"{requests} AMX permission requests"


def _needed(module: Path) -> list[str]:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf not found")
    dynamic = subprocess.run([readelf, "-d", str(module)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]


def test_cpu_modules_use_ggml_threads_not_openmp() -> None:
    """libgomp keeps a thread team per calling thread and stops spinning once they outnumber
    the cores: on pool threads a q8_0 decoder step took 3.5x as long. The build turns it off."""
    modules = sorted(library_dir().glob("libggml-cpu*.so"))
    assert modules, f"no ggml modules in {library_dir()}"
    for module in modules:
        assert not [name for name in _needed(module) if "omp" in name], module.name
