/* Native helpers that must not call into Python.
 *
 * whisper.cpp polls the abort callback between graph nodes; a Python callback
 * there would take the GIL thousands of times per second (and wait for it
 * while the server's event loop holds it). This callback only reads an int
 * that Python sets to ask for an abort. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#if defined(_WIN32)
#define SHIM_API __declspec(dllexport)
#else
#define SHIM_API __attribute__((visibility("default")))
#endif

/* matches ggml_abort_callback: bool (*)(void * data) */
SHIM_API bool localwhisper_abort_requested(void * flag) {
    return flag != NULL && atomic_load_explicit((_Atomic int *) flag, memory_order_relaxed) != 0;
}

/* matches whisper_encoder_begin_callback: return false to cancel the encoder run */
SHIM_API bool localwhisper_encoder_may_begin(void * ctx, void * state, void * flag) {
    (void) ctx;
    (void) state;
    return !localwhisper_abort_requested(flag);
}
