"""1:1 ctypes declarations of whisper.cpp v1.8.5 ``include/whisper.h``.

Types (structs, enums, callbacks) live in ``_whisper_types`` and are re-exported
here; this module binds the functions. Each binding carries the C declaration
it mirrors as a comment above it. Deprecated initialisers and the OpenVINO
entry points are left out on purpose. Nothing here owns memory: see context.py,
params.py and vad.py for that.
"""

from __future__ import annotations

from ctypes import POINTER, c_bool, c_char_p, c_float, c_int, c_int64, c_size_t, c_void_p
from typing import Any

from ._ctypes_ext import ctypes_function_for
from ._loader import load_library
from ._whisper_types import *  # noqa: F403
from ._whisper_types import (
    ggml_log_callback,
    whisper_context_p,
    whisper_context_params,
    whisper_full_params,
    whisper_model_loader,
    whisper_state_p,
    whisper_timings,
    whisper_token,
    whisper_token_data,
    whisper_vad_context_p,
    whisper_vad_context_params,
    whisper_vad_params,
    whisper_vad_segments_p,
)

_whisper_lib, _ggml_lib = load_library()
ctypes_function = ctypes_function_for(_whisper_lib)

PINNED_VERSION = "1.8.5"


# WHISPER_API const char * whisper_version(void);
@ctypes_function("whisper_version", [], c_char_p)
def whisper_version() -> bytes: ...


# WHISPER_API struct whisper_context * whisper_init_from_file_with_params(const char * path_model, struct whisper_context_params params);
@ctypes_function("whisper_init_from_file_with_params", [c_char_p, whisper_context_params], whisper_context_p)
def whisper_init_from_file_with_params(path_model: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_context * whisper_init_from_buffer_with_params(void * buffer, size_t buffer_size, struct whisper_context_params params);
@ctypes_function("whisper_init_from_buffer_with_params", [c_void_p, c_size_t, whisper_context_params], whisper_context_p)
def whisper_init_from_buffer_with_params(buffer: Any, buffer_size: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_context * whisper_init_with_params(struct whisper_model_loader * loader, struct whisper_context_params params);
@ctypes_function("whisper_init_with_params", [POINTER(whisper_model_loader), whisper_context_params], whisper_context_p)
def whisper_init_with_params(loader: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_context * whisper_init_from_file_with_params_no_state(const char * path_model, struct whisper_context_params params);
@ctypes_function("whisper_init_from_file_with_params_no_state", [c_char_p, whisper_context_params], whisper_context_p)
def whisper_init_from_file_with_params_no_state(path_model: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_context * whisper_init_from_buffer_with_params_no_state(void * buffer, size_t buffer_size, struct whisper_context_params params);
@ctypes_function("whisper_init_from_buffer_with_params_no_state", [c_void_p, c_size_t, whisper_context_params], whisper_context_p)
def whisper_init_from_buffer_with_params_no_state(buffer: Any, buffer_size: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_context * whisper_init_with_params_no_state(struct whisper_model_loader * loader, struct whisper_context_params params);
@ctypes_function("whisper_init_with_params_no_state", [POINTER(whisper_model_loader), whisper_context_params], whisper_context_p)
def whisper_init_with_params_no_state(loader: Any, params: Any) -> whisper_context_p: ...


# WHISPER_API struct whisper_state * whisper_init_state(struct whisper_context * ctx);
@ctypes_function("whisper_init_state", [whisper_context_p], whisper_state_p)
def whisper_init_state(ctx: Any) -> whisper_state_p: ...


# WHISPER_API void whisper_free(struct whisper_context * ctx);
@ctypes_function("whisper_free", [whisper_context_p], None)
def whisper_free(ctx: Any) -> None: ...


# WHISPER_API void whisper_free_state(struct whisper_state * state);
@ctypes_function("whisper_free_state", [whisper_state_p], None)
def whisper_free_state(state: Any) -> None: ...


# WHISPER_API void whisper_free_params(struct whisper_full_params * params);
@ctypes_function("whisper_free_params", [POINTER(whisper_full_params)], None)
def whisper_free_params(params: Any) -> None: ...


# WHISPER_API void whisper_free_context_params(struct whisper_context_params * params);
@ctypes_function("whisper_free_context_params", [POINTER(whisper_context_params)], None)
def whisper_free_context_params(params: Any) -> None: ...


# WHISPER_API int whisper_pcm_to_mel(struct whisper_context * ctx, const float * samples, int n_samples, int n_threads);
@ctypes_function("whisper_pcm_to_mel", [whisper_context_p, POINTER(c_float), c_int, c_int], c_int)
def whisper_pcm_to_mel(ctx: Any, samples: Any, n_samples: Any, n_threads: Any) -> int: ...


# WHISPER_API int whisper_pcm_to_mel_with_state(struct whisper_context * ctx, struct whisper_state * state, const float * samples, int n_samples, int n_threads);
@ctypes_function("whisper_pcm_to_mel_with_state", [whisper_context_p, whisper_state_p, POINTER(c_float), c_int, c_int], c_int)
def whisper_pcm_to_mel_with_state(ctx: Any, state: Any, samples: Any, n_samples: Any, n_threads: Any) -> int: ...


# WHISPER_API int whisper_set_mel_with_state(struct whisper_context * ctx, struct whisper_state * state, const float * data, int n_len, int n_mel);
@ctypes_function("whisper_set_mel_with_state", [whisper_context_p, whisper_state_p, POINTER(c_float), c_int, c_int], c_int)
def whisper_set_mel_with_state(ctx: Any, state: Any, data: Any, n_len: Any, n_mel: Any) -> int: ...


# WHISPER_API int whisper_encode_with_state(struct whisper_context * ctx, struct whisper_state * state, int offset, int n_threads);
@ctypes_function("whisper_encode_with_state", [whisper_context_p, whisper_state_p, c_int, c_int], c_int)
def whisper_encode_with_state(ctx: Any, state: Any, offset: Any, n_threads: Any) -> int: ...


# WHISPER_API int whisper_decode_with_state(struct whisper_context * ctx, struct whisper_state * state, const whisper_token * tokens, int n_tokens, int n_past, int n_threads);
@ctypes_function("whisper_decode_with_state", [whisper_context_p, whisper_state_p, POINTER(whisper_token), c_int, c_int, c_int], c_int)
def whisper_decode_with_state(ctx: Any, state: Any, tokens: Any, n_tokens: Any, n_past: Any, n_threads: Any) -> int: ...


# WHISPER_API int whisper_tokenize(struct whisper_context * ctx, const char * text, whisper_token * tokens, int n_max_tokens);
@ctypes_function("whisper_tokenize", [whisper_context_p, c_char_p, POINTER(whisper_token), c_int], c_int)
def whisper_tokenize(ctx: Any, text: Any, tokens: Any, n_max_tokens: Any) -> int: ...


# WHISPER_API int whisper_token_count(struct whisper_context * ctx, const char * text);
@ctypes_function("whisper_token_count", [whisper_context_p, c_char_p], c_int)
def whisper_token_count(ctx: Any, text: Any) -> int: ...


# WHISPER_API int whisper_lang_max_id(void);
@ctypes_function("whisper_lang_max_id", [], c_int)
def whisper_lang_max_id() -> int: ...


# WHISPER_API int whisper_lang_id(const char * lang);
@ctypes_function("whisper_lang_id", [c_char_p], c_int)
def whisper_lang_id(lang: Any) -> int: ...


# WHISPER_API const char * whisper_lang_str(int id);
@ctypes_function("whisper_lang_str", [c_int], c_char_p)
def whisper_lang_str(id: Any) -> bytes | None: ...


# WHISPER_API const char * whisper_lang_str_full(int id);
@ctypes_function("whisper_lang_str_full", [c_int], c_char_p)
def whisper_lang_str_full(id: Any) -> bytes | None: ...


# WHISPER_API int whisper_lang_auto_detect_with_state(struct whisper_context * ctx, struct whisper_state * state, int offset_ms, int n_threads, float * lang_probs);
@ctypes_function("whisper_lang_auto_detect_with_state", [whisper_context_p, whisper_state_p, c_int, c_int, POINTER(c_float)], c_int)
def whisper_lang_auto_detect_with_state(ctx: Any, state: Any, offset_ms: Any, n_threads: Any, lang_probs: Any) -> int: ...


# WHISPER_API int whisper_n_len_from_state(struct whisper_state * state);
@ctypes_function("whisper_n_len_from_state", [whisper_state_p], c_int)
def whisper_n_len_from_state(state: Any) -> int: ...


# WHISPER_API int whisper_n_vocab(struct whisper_context * ctx);
@ctypes_function("whisper_n_vocab", [whisper_context_p], c_int)
def whisper_n_vocab(ctx: Any) -> int: ...


# WHISPER_API int whisper_n_text_ctx(struct whisper_context * ctx);
@ctypes_function("whisper_n_text_ctx", [whisper_context_p], c_int)
def whisper_n_text_ctx(ctx: Any) -> int: ...


# WHISPER_API int whisper_n_audio_ctx(struct whisper_context * ctx);
@ctypes_function("whisper_n_audio_ctx", [whisper_context_p], c_int)
def whisper_n_audio_ctx(ctx: Any) -> int: ...


# WHISPER_API int whisper_is_multilingual(struct whisper_context * ctx);
@ctypes_function("whisper_is_multilingual", [whisper_context_p], c_int)
def whisper_is_multilingual(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_vocab(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_vocab", [whisper_context_p], c_int)
def whisper_model_n_vocab(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_audio_ctx(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_audio_ctx", [whisper_context_p], c_int)
def whisper_model_n_audio_ctx(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_audio_state(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_audio_state", [whisper_context_p], c_int)
def whisper_model_n_audio_state(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_audio_head(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_audio_head", [whisper_context_p], c_int)
def whisper_model_n_audio_head(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_audio_layer(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_audio_layer", [whisper_context_p], c_int)
def whisper_model_n_audio_layer(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_text_ctx(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_text_ctx", [whisper_context_p], c_int)
def whisper_model_n_text_ctx(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_text_state(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_text_state", [whisper_context_p], c_int)
def whisper_model_n_text_state(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_text_head(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_text_head", [whisper_context_p], c_int)
def whisper_model_n_text_head(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_text_layer(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_text_layer", [whisper_context_p], c_int)
def whisper_model_n_text_layer(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_n_mels(struct whisper_context * ctx);
@ctypes_function("whisper_model_n_mels", [whisper_context_p], c_int)
def whisper_model_n_mels(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_ftype(struct whisper_context * ctx);
@ctypes_function("whisper_model_ftype", [whisper_context_p], c_int)
def whisper_model_ftype(ctx: Any) -> int: ...


# WHISPER_API int whisper_model_type(struct whisper_context * ctx);
@ctypes_function("whisper_model_type", [whisper_context_p], c_int)
def whisper_model_type(ctx: Any) -> int: ...


# WHISPER_API float * whisper_get_logits_from_state(struct whisper_state * state);
@ctypes_function("whisper_get_logits_from_state", [whisper_state_p], POINTER(c_float))
def whisper_get_logits_from_state(state: Any) -> Any: ...


# WHISPER_API const char * whisper_token_to_str(struct whisper_context * ctx, whisper_token token);
@ctypes_function("whisper_token_to_str", [whisper_context_p, whisper_token], c_char_p)
def whisper_token_to_str(ctx: Any, token: Any) -> bytes | None: ...


# WHISPER_API const char * whisper_model_type_readable(struct whisper_context * ctx);
@ctypes_function("whisper_model_type_readable", [whisper_context_p], c_char_p)
def whisper_model_type_readable(ctx: Any) -> bytes: ...


# WHISPER_API whisper_token whisper_token_eot (struct whisper_context * ctx);
@ctypes_function("whisper_token_eot", [whisper_context_p], whisper_token)
def whisper_token_eot(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_sot (struct whisper_context * ctx);
@ctypes_function("whisper_token_sot", [whisper_context_p], whisper_token)
def whisper_token_sot(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_solm(struct whisper_context * ctx);
@ctypes_function("whisper_token_solm", [whisper_context_p], whisper_token)
def whisper_token_solm(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_prev(struct whisper_context * ctx);
@ctypes_function("whisper_token_prev", [whisper_context_p], whisper_token)
def whisper_token_prev(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_nosp(struct whisper_context * ctx);
@ctypes_function("whisper_token_nosp", [whisper_context_p], whisper_token)
def whisper_token_nosp(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_not (struct whisper_context * ctx);
@ctypes_function("whisper_token_not", [whisper_context_p], whisper_token)
def whisper_token_not(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_beg (struct whisper_context * ctx);
@ctypes_function("whisper_token_beg", [whisper_context_p], whisper_token)
def whisper_token_beg(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_lang(struct whisper_context * ctx, int lang_id);
@ctypes_function("whisper_token_lang", [whisper_context_p, c_int], whisper_token)
def whisper_token_lang(ctx: Any, lang_id: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_translate (struct whisper_context * ctx);
@ctypes_function("whisper_token_translate", [whisper_context_p], whisper_token)
def whisper_token_translate(ctx: Any) -> int: ...


# WHISPER_API whisper_token whisper_token_transcribe(struct whisper_context * ctx);
@ctypes_function("whisper_token_transcribe", [whisper_context_p], whisper_token)
def whisper_token_transcribe(ctx: Any) -> int: ...


# WHISPER_API struct whisper_timings * whisper_get_timings(struct whisper_context * ctx);
@ctypes_function("whisper_get_timings", [whisper_context_p], POINTER(whisper_timings))
def whisper_get_timings(ctx: Any) -> Any: ...


# WHISPER_API void whisper_print_timings(struct whisper_context * ctx);
@ctypes_function("whisper_print_timings", [whisper_context_p], None)
def whisper_print_timings(ctx: Any) -> None: ...


# WHISPER_API void whisper_reset_timings(struct whisper_context * ctx);
@ctypes_function("whisper_reset_timings", [whisper_context_p], None)
def whisper_reset_timings(ctx: Any) -> None: ...


# WHISPER_API const char * whisper_print_system_info(void);
@ctypes_function("whisper_print_system_info", [], c_char_p)
def whisper_print_system_info() -> bytes: ...


# WHISPER_API struct whisper_context_params * whisper_context_default_params_by_ref(void);
@ctypes_function("whisper_context_default_params_by_ref", [], POINTER(whisper_context_params))
def whisper_context_default_params_by_ref() -> Any: ...


# WHISPER_API struct whisper_context_params whisper_context_default_params(void);
@ctypes_function("whisper_context_default_params", [], whisper_context_params)
def whisper_context_default_params() -> whisper_context_params: ...


# WHISPER_API struct whisper_full_params * whisper_full_default_params_by_ref(enum whisper_sampling_strategy strategy);
@ctypes_function("whisper_full_default_params_by_ref", [c_int], POINTER(whisper_full_params))
def whisper_full_default_params_by_ref(strategy: Any) -> Any: ...


# WHISPER_API struct whisper_full_params whisper_full_default_params(enum whisper_sampling_strategy strategy);
@ctypes_function("whisper_full_default_params", [c_int], whisper_full_params)
def whisper_full_default_params(strategy: Any) -> whisper_full_params: ...


# WHISPER_API int whisper_full(struct whisper_context * ctx, struct whisper_full_params params, const float * samples, int n_samples);
@ctypes_function("whisper_full", [whisper_context_p, whisper_full_params, POINTER(c_float), c_int], c_int)
def whisper_full(ctx: Any, params: Any, samples: Any, n_samples: Any) -> int: ...


# WHISPER_API int whisper_full_with_state(struct whisper_context * ctx, struct whisper_state * state, struct whisper_full_params params, const float * samples, int n_samples);
@ctypes_function("whisper_full_with_state", [whisper_context_p, whisper_state_p, whisper_full_params, POINTER(c_float), c_int], c_int)
def whisper_full_with_state(ctx: Any, state: Any, params: Any, samples: Any, n_samples: Any) -> int: ...


# WHISPER_API int whisper_full_parallel(struct whisper_context * ctx, struct whisper_full_params params, const float * samples, int n_samples, int n_processors);
@ctypes_function("whisper_full_parallel", [whisper_context_p, whisper_full_params, POINTER(c_float), c_int, c_int], c_int)
def whisper_full_parallel(ctx: Any, params: Any, samples: Any, n_samples: Any, n_processors: Any) -> int: ...


# WHISPER_API int whisper_full_n_segments(struct whisper_context * ctx);
@ctypes_function("whisper_full_n_segments", [whisper_context_p], c_int)
def whisper_full_n_segments(ctx: Any) -> int: ...


# WHISPER_API int whisper_full_n_segments_from_state(struct whisper_state * state);
@ctypes_function("whisper_full_n_segments_from_state", [whisper_state_p], c_int)
def whisper_full_n_segments_from_state(state: Any) -> int: ...


# WHISPER_API int whisper_full_lang_id(struct whisper_context * ctx);
@ctypes_function("whisper_full_lang_id", [whisper_context_p], c_int)
def whisper_full_lang_id(ctx: Any) -> int: ...


# WHISPER_API int whisper_full_lang_id_from_state(struct whisper_state * state);
@ctypes_function("whisper_full_lang_id_from_state", [whisper_state_p], c_int)
def whisper_full_lang_id_from_state(state: Any) -> int: ...


# WHISPER_API int64_t whisper_full_get_segment_t0(struct whisper_context * ctx, int i_segment);
@ctypes_function("whisper_full_get_segment_t0", [whisper_context_p, c_int], c_int64)
def whisper_full_get_segment_t0(ctx: Any, i_segment: Any) -> int: ...


# WHISPER_API int64_t whisper_full_get_segment_t0_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_get_segment_t0_from_state", [whisper_state_p, c_int], c_int64)
def whisper_full_get_segment_t0_from_state(state: Any, i_segment: Any) -> int: ...


# WHISPER_API int64_t whisper_full_get_segment_t1(struct whisper_context * ctx, int i_segment);
@ctypes_function("whisper_full_get_segment_t1", [whisper_context_p, c_int], c_int64)
def whisper_full_get_segment_t1(ctx: Any, i_segment: Any) -> int: ...


# WHISPER_API int64_t whisper_full_get_segment_t1_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_get_segment_t1_from_state", [whisper_state_p, c_int], c_int64)
def whisper_full_get_segment_t1_from_state(state: Any, i_segment: Any) -> int: ...


# WHISPER_API bool whisper_full_get_segment_speaker_turn_next_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_get_segment_speaker_turn_next_from_state", [whisper_state_p, c_int], c_bool)
def whisper_full_get_segment_speaker_turn_next_from_state(state: Any, i_segment: Any) -> bool: ...


# WHISPER_API const char * whisper_full_get_segment_text(struct whisper_context * ctx, int i_segment);
@ctypes_function("whisper_full_get_segment_text", [whisper_context_p, c_int], c_char_p)
def whisper_full_get_segment_text(ctx: Any, i_segment: Any) -> bytes: ...


# WHISPER_API const char * whisper_full_get_segment_text_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_get_segment_text_from_state", [whisper_state_p, c_int], c_char_p)
def whisper_full_get_segment_text_from_state(state: Any, i_segment: Any) -> bytes: ...


# WHISPER_API int whisper_full_n_tokens(struct whisper_context * ctx, int i_segment);
@ctypes_function("whisper_full_n_tokens", [whisper_context_p, c_int], c_int)
def whisper_full_n_tokens(ctx: Any, i_segment: Any) -> int: ...


# WHISPER_API int whisper_full_n_tokens_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_n_tokens_from_state", [whisper_state_p, c_int], c_int)
def whisper_full_n_tokens_from_state(state: Any, i_segment: Any) -> int: ...


# WHISPER_API const char * whisper_full_get_token_text_from_state(struct whisper_context * ctx, struct whisper_state * state, int i_segment, int i_token);
@ctypes_function("whisper_full_get_token_text_from_state", [whisper_context_p, whisper_state_p, c_int, c_int], c_char_p)
def whisper_full_get_token_text_from_state(ctx: Any, state: Any, i_segment: Any, i_token: Any) -> bytes: ...


# WHISPER_API whisper_token whisper_full_get_token_id_from_state(struct whisper_state * state, int i_segment, int i_token);
@ctypes_function("whisper_full_get_token_id_from_state", [whisper_state_p, c_int, c_int], whisper_token)
def whisper_full_get_token_id_from_state(state: Any, i_segment: Any, i_token: Any) -> int: ...


# WHISPER_API whisper_token_data whisper_full_get_token_data_from_state(struct whisper_state * state, int i_segment, int i_token);
@ctypes_function("whisper_full_get_token_data_from_state", [whisper_state_p, c_int, c_int], whisper_token_data)
def whisper_full_get_token_data_from_state(state: Any, i_segment: Any, i_token: Any) -> whisper_token_data: ...


# WHISPER_API float whisper_full_get_token_p_from_state(struct whisper_state * state, int i_segment, int i_token);
@ctypes_function("whisper_full_get_token_p_from_state", [whisper_state_p, c_int, c_int], c_float)
def whisper_full_get_token_p_from_state(state: Any, i_segment: Any, i_token: Any) -> float: ...


# WHISPER_API float whisper_full_get_segment_no_speech_prob_from_state(struct whisper_state * state, int i_segment);
@ctypes_function("whisper_full_get_segment_no_speech_prob_from_state", [whisper_state_p, c_int], c_float)
def whisper_full_get_segment_no_speech_prob_from_state(state: Any, i_segment: Any) -> float: ...


# WHISPER_API struct whisper_vad_params whisper_vad_default_params(void);
@ctypes_function("whisper_vad_default_params", [], whisper_vad_params)
def whisper_vad_default_params() -> whisper_vad_params: ...


# WHISPER_API struct whisper_vad_context_params whisper_vad_default_context_params(void);
@ctypes_function("whisper_vad_default_context_params", [], whisper_vad_context_params)
def whisper_vad_default_context_params() -> whisper_vad_context_params: ...


# WHISPER_API struct whisper_vad_context * whisper_vad_init_from_file_with_params(const char * path_model, struct whisper_vad_context_params params);
@ctypes_function("whisper_vad_init_from_file_with_params", [c_char_p, whisper_vad_context_params], whisper_vad_context_p)
def whisper_vad_init_from_file_with_params(path_model: Any, params: Any) -> whisper_vad_context_p: ...


# WHISPER_API struct whisper_vad_context * whisper_vad_init_with_params(struct whisper_model_loader * loader, struct whisper_vad_context_params params);
@ctypes_function("whisper_vad_init_with_params", [POINTER(whisper_model_loader), whisper_vad_context_params], whisper_vad_context_p)
def whisper_vad_init_with_params(loader: Any, params: Any) -> whisper_vad_context_p: ...


# WHISPER_API bool whisper_vad_detect_speech(struct whisper_vad_context * vctx, const float * samples, int n_samples);
@ctypes_function("whisper_vad_detect_speech", [whisper_vad_context_p, POINTER(c_float), c_int], c_bool)
def whisper_vad_detect_speech(vctx: Any, samples: Any, n_samples: Any) -> bool: ...


# WHISPER_API bool whisper_vad_detect_speech_no_reset(struct whisper_vad_context * vctx, const float * samples, int n_samples);
@ctypes_function("whisper_vad_detect_speech_no_reset", [whisper_vad_context_p, POINTER(c_float), c_int], c_bool)
def whisper_vad_detect_speech_no_reset(vctx: Any, samples: Any, n_samples: Any) -> bool: ...


# WHISPER_API void whisper_vad_reset_state(struct whisper_vad_context * vctx);
@ctypes_function("whisper_vad_reset_state", [whisper_vad_context_p], None)
def whisper_vad_reset_state(vctx: Any) -> None: ...


# WHISPER_API int whisper_vad_n_probs(struct whisper_vad_context * vctx);
@ctypes_function("whisper_vad_n_probs", [whisper_vad_context_p], c_int)
def whisper_vad_n_probs(vctx: Any) -> int: ...


# WHISPER_API float * whisper_vad_probs(struct whisper_vad_context * vctx);
@ctypes_function("whisper_vad_probs", [whisper_vad_context_p], POINTER(c_float))
def whisper_vad_probs(vctx: Any) -> Any: ...


# WHISPER_API struct whisper_vad_segments * whisper_vad_segments_from_probs(struct whisper_vad_context * vctx, struct whisper_vad_params params);
@ctypes_function("whisper_vad_segments_from_probs", [whisper_vad_context_p, whisper_vad_params], whisper_vad_segments_p)
def whisper_vad_segments_from_probs(vctx: Any, params: Any) -> whisper_vad_segments_p: ...


# WHISPER_API struct whisper_vad_segments * whisper_vad_segments_from_samples(struct whisper_vad_context * vctx, struct whisper_vad_params params, const float * samples, int n_samples);
@ctypes_function("whisper_vad_segments_from_samples", [whisper_vad_context_p, whisper_vad_params, POINTER(c_float), c_int], whisper_vad_segments_p)
def whisper_vad_segments_from_samples(vctx: Any, params: Any, samples: Any, n_samples: Any) -> whisper_vad_segments_p: ...


# WHISPER_API int whisper_vad_segments_n_segments(struct whisper_vad_segments * segments);
@ctypes_function("whisper_vad_segments_n_segments", [whisper_vad_segments_p], c_int)
def whisper_vad_segments_n_segments(segments: Any) -> int: ...


# WHISPER_API float whisper_vad_segments_get_segment_t0(struct whisper_vad_segments * segments, int i_segment);
@ctypes_function("whisper_vad_segments_get_segment_t0", [whisper_vad_segments_p, c_int], c_float)
def whisper_vad_segments_get_segment_t0(segments: Any, i_segment: Any) -> float: ...


# WHISPER_API float whisper_vad_segments_get_segment_t1(struct whisper_vad_segments * segments, int i_segment);
@ctypes_function("whisper_vad_segments_get_segment_t1", [whisper_vad_segments_p, c_int], c_float)
def whisper_vad_segments_get_segment_t1(segments: Any, i_segment: Any) -> float: ...


# WHISPER_API void whisper_vad_free_segments(struct whisper_vad_segments * segments);
@ctypes_function("whisper_vad_free_segments", [whisper_vad_segments_p], None)
def whisper_vad_free_segments(segments: Any) -> None: ...


# WHISPER_API void whisper_vad_free(struct whisper_vad_context * ctx);
@ctypes_function("whisper_vad_free", [whisper_vad_context_p], None)
def whisper_vad_free(ctx: Any) -> None: ...


# WHISPER_API int whisper_bench_memcpy(int n_threads);
@ctypes_function("whisper_bench_memcpy", [c_int], c_int)
def whisper_bench_memcpy(n_threads: Any) -> int: ...


# WHISPER_API int whisper_bench_ggml_mul_mat(int n_threads);
@ctypes_function("whisper_bench_ggml_mul_mat", [c_int], c_int)
def whisper_bench_ggml_mul_mat(n_threads: Any) -> int: ...


# WHISPER_API void whisper_log_set(ggml_log_callback log_callback, void * user_data);
@ctypes_function("whisper_log_set", [ggml_log_callback, c_void_p], None)
def whisper_log_set(log_callback: Any, user_data: Any) -> None: ...

