// whisper-cpu-probe: can this CPU run one of ggml's CPU variant modules?
//
//   whisper-cpu-probe --list DIR     one line per libggml-cpu-*.so in DIR: "<score> <file>"
//                                    (ggml_backend_score(): 0 = this CPU lacks a feature)
//   whisper-cpu-probe LIBRARY        load that module the way ggml's dispatch does and run
//                                    real matrix products through every buffer type it offers
//                                    (default, CPU_REPACK, AMX) for f16, q8_0, q4_0 and q5_0
//                                    weights, batch 1 and 40, checked against a plain float
//                                    reference. Prints one JSON object; exit 0 when all agree.
//
// Run in a child process by whisper_native._cpu_variant: a kernel this CPU cannot execute
// kills the probe (SIGILL), never the server. LOCALWHISPER_CPU_PROBE_CRASH=1 makes the probe
// die with SIGILL on purpose, so the fallback path can be tested on any machine.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PROBE_K = 256, PROBE_N = 64 };

typedef int (*score_fn)(void);
typedef ggml_backend_buffer_type_t * (*extra_bufts_fn)(ggml_backend_dev_t);
struct feature { const char * name; const char * value; };
typedef struct feature * (*features_fn)(ggml_backend_reg_t);

static int list_variants(const char * dir_path) {
    DIR * dir = opendir(dir_path);
    if (!dir) {
        perror(dir_path);
        return 2;
    }
    struct dirent * entry;
    while ((entry = readdir(dir)) != NULL) {
        const char * name = entry->d_name;
        size_t len = strlen(name);
        if (strncmp(name, "libggml-cpu-", 12) != 0 || len < 4 || strcmp(name + len - 3, ".so") != 0) {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir_path, name);
        void * handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            printf("-1 %s\n", name);
            continue;
        }
        score_fn score = (score_fn) dlsym(handle, "ggml_backend_score");
        printf("%d %s\n", score ? score() : 0, name);
        dlclose(handle);
    }
    closedir(dir);
    return 0;
}

static float frand(unsigned * seed) {
    *seed = *seed * 1664525u + 1013904223u;
    return (float) ((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

// One product y = w·x with w of `type` in a buffer of `buft`; returns the relative error
// against a float reference, or a negative value when the buffer type does not take it.
static double check_product(ggml_backend_t backend, ggml_backend_dev_t dev,
                            ggml_backend_buffer_type_t buft, enum ggml_type type, int batch) {
    static float weights[PROBE_K * PROBE_N], dequant[PROBE_K * PROBE_N];
    static float input[PROBE_K * 64], output[PROBE_N * 64];
    static unsigned char packed[PROBE_K * PROBE_N * 4];
    unsigned seed = 1234u + (unsigned) type * 7u + (unsigned) batch;
    for (int i = 0; i < PROBE_K * PROBE_N; ++i) weights[i] = frand(&seed);
    for (int i = 0; i < PROBE_K * batch; ++i) input[i] = frand(&seed);

    if (type == GGML_TYPE_F16) {
        ggml_fp32_to_fp16_row(weights, (ggml_fp16_t *) packed, PROBE_K * PROBE_N);
    } else {
        ggml_quantize_chunk(type, weights, packed, 0, PROBE_N, PROBE_K, NULL);
    }
    ggml_get_type_traits(type)->to_float(packed, dequant, PROBE_K * PROBE_N);

    struct ggml_init_params params = { ggml_tensor_overhead() * 8 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx_w = ggml_init(params);
    struct ggml_context * ctx_c = ggml_init(params);
    struct ggml_tensor * w = ggml_new_tensor_2d(ctx_w, type, PROBE_K, PROBE_N);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx_c, GGML_TYPE_F32, PROBE_K, batch);
    struct ggml_tensor * y = ggml_mul_mat(ctx_c, w, x);

    // Ask the device whether this buffer type takes the product, as whisper.cpp does for weights.
    ggml_backend_buffer_t dummy = ggml_backend_buft_alloc_buffer(buft, 0);
    w->buffer = dummy;
    bool supported = ggml_backend_dev_supports_op(dev, y);
    w->buffer = NULL;
    ggml_backend_buffer_free(dummy);
    double error = -1.0;
    if (supported) {
        ggml_backend_buffer_t buf_w = ggml_backend_alloc_ctx_tensors_from_buft(ctx_w, buft);
        ggml_backend_buffer_set_usage(buf_w, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
        ggml_backend_tensor_set(w, packed, 0, ggml_nbytes(w));
        struct ggml_cgraph * graph = ggml_new_graph(ctx_c);
        ggml_build_forward_expand(graph, y);
        ggml_backend_buffer_t buf_c = ggml_backend_alloc_ctx_tensors(ctx_c, backend);
        ggml_backend_tensor_set(x, input, 0, ggml_nbytes(x));
        error = 1e9;
        if (ggml_backend_graph_compute(backend, graph) == GGML_STATUS_SUCCESS) {
            ggml_backend_tensor_get(y, output, 0, ggml_nbytes(y));
            double worst = 0.0, scale = 1e-9;
            for (int m = 0; m < batch; ++m) {
                for (int n = 0; n < PROBE_N; ++n) {
                    double ref = 0.0;
                    for (int k = 0; k < PROBE_K; ++k) ref += (double) dequant[n * PROBE_K + k] * input[m * PROBE_K + k];
                    double diff = fabs(ref - output[m * PROBE_N + n]);
                    if (!(diff <= worst)) worst = diff;  // NaN counts as worst
                    if (fabs(ref) > scale) scale = fabs(ref);
                }
            }
            error = worst / scale;
        }
        ggml_backend_buffer_free(buf_c);
        ggml_backend_buffer_free(buf_w);
    }
    ggml_free(ctx_c);
    ggml_free(ctx_w);
    return error;
}

int main(int argc, char ** argv) {
    if (argc == 3 && strcmp(argv[1], "--list") == 0) {
        return list_variants(argv[2]);
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s --list DIR | %s LIBRARY\n", argv[0], argv[0]);
        return 2;
    }
    const char * crash = getenv("LOCALWHISPER_CPU_PROBE_CRASH");
    if (crash && strcmp(crash, "1") == 0) {
        raise(SIGILL);
    }
    ggml_backend_reg_t reg = ggml_backend_load(argv[1]);
    if (!reg) {
        printf("{\"ok\": false, \"error\": \"ggml_backend_load failed\"}\n");
        return 3;
    }
    ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
    ggml_backend_t backend = ggml_backend_dev_init(dev, NULL);
    typedef void (*threads_fn)(ggml_backend_t, int);
    threads_fn set_threads = (threads_fn) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (set_threads) set_threads(backend, 2);  // the worker-thread path, not only the caller's

    printf("{\"features\": {");
    features_fn get_features = (features_fn) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
    for (struct feature * f = get_features ? get_features(reg) : NULL; f && f->name; ++f) {
        printf("%s\"%s\": \"%s\"", f == get_features(reg) ? "" : ", ", f->name, f->value);
    }
    printf("}, \"checks\": [");
    fflush(stdout);

    ggml_backend_buffer_type_t bufts[8];
    int n_bufts = 0;
    extra_bufts_fn get_extra = (extra_bufts_fn) ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    for (ggml_backend_buffer_type_t * b = get_extra ? get_extra(dev) : NULL; b && *b && n_bufts < 7; ++b) {
        bufts[n_bufts++] = *b;
    }
    bufts[n_bufts++] = ggml_backend_dev_buffer_type(dev);

    const enum ggml_type types[] = { GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q5_0 };
    const int batches[] = { 1, 40 };
    int ok = 1, first = 1;
    for (int b = 0; b < n_bufts; ++b) {
        for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
            for (size_t m = 0; m < sizeof batches / sizeof batches[0]; ++m) {
                double error = check_product(backend, dev, bufts[b], types[t], batches[m]);
                if (error < 0) continue;
                int passed = error < 0.05;
                ok &= passed;
                printf("%s{\"buffer\": \"%s\", \"type\": \"%s\", \"batch\": %d, \"error\": %.5f, \"ok\": %s}",
                       first ? "" : ", ", ggml_backend_buft_name(bufts[b]), ggml_type_name(types[t]),
                       batches[m], error, passed ? "true" : "false");
                first = 0;
                fflush(stdout);
            }
        }
    }
    printf("], \"ok\": %s}\n", ok ? "true" : "false");
    ggml_backend_free(backend);
    return ok ? 0 : 1;
}
