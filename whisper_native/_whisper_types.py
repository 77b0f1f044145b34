"""whisper.h v1.8.5, part 1: constants, enums, structs and callback types.

Each binding carries the C declaration it mirrors as a comment above it.
Struct layouts are proven against the compiler by tests/test_native_abi.py
(``whisper-abi-probe`` prints sizeof/offsetof from the same headers).
Nothing here owns memory: see context.py, params.py, vad.py for that.
"""

from __future__ import annotations

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_void_p,
)

from ._ctypes_ext import opaque_pointer_type

# #define WHISPER_SAMPLE_RATE 16000
WHISPER_SAMPLE_RATE = 16000
# #define WHISPER_N_FFT       400
WHISPER_N_FFT = 400
# #define WHISPER_HOP_LENGTH  160
WHISPER_HOP_LENGTH = 160
# #define WHISPER_CHUNK_SIZE  30
WHISPER_CHUNK_SIZE = 30

# --- opaque handles -----------------------------------------------------------
# struct whisper_context;
whisper_context_p = opaque_pointer_type("whisper_context")
# struct whisper_state;
whisper_state_p = opaque_pointer_type("whisper_state")
# struct whisper_vad_context;
whisper_vad_context_p = opaque_pointer_type("whisper_vad_context")
# struct whisper_vad_segments;
whisper_vad_segments_p = opaque_pointer_type("whisper_vad_segments")

# typedef int32_t whisper_pos; typedef int32_t whisper_token; typedef int32_t whisper_seq_id;
whisper_pos = c_int32
whisper_token = c_int32
whisper_seq_id = c_int32

# --- enums --------------------------------------------------------------------
# enum whisper_alignment_heads_preset { WHISPER_AHEADS_NONE, WHISPER_AHEADS_N_TOP_MOST,
#     WHISPER_AHEADS_CUSTOM, WHISPER_AHEADS_TINY_EN, WHISPER_AHEADS_TINY, WHISPER_AHEADS_BASE_EN,
#     WHISPER_AHEADS_BASE, WHISPER_AHEADS_SMALL_EN, WHISPER_AHEADS_SMALL, WHISPER_AHEADS_MEDIUM_EN,
#     WHISPER_AHEADS_MEDIUM, WHISPER_AHEADS_LARGE_V1, WHISPER_AHEADS_LARGE_V2,
#     WHISPER_AHEADS_LARGE_V3, WHISPER_AHEADS_LARGE_V3_TURBO };
WHISPER_AHEADS_NONE = 0
WHISPER_AHEADS_N_TOP_MOST = 1
WHISPER_AHEADS_CUSTOM = 2
WHISPER_AHEADS_TINY_EN = 3
WHISPER_AHEADS_TINY = 4
WHISPER_AHEADS_BASE_EN = 5
WHISPER_AHEADS_BASE = 6
WHISPER_AHEADS_SMALL_EN = 7
WHISPER_AHEADS_SMALL = 8
WHISPER_AHEADS_MEDIUM_EN = 9
WHISPER_AHEADS_MEDIUM = 10
WHISPER_AHEADS_LARGE_V1 = 11
WHISPER_AHEADS_LARGE_V2 = 12
WHISPER_AHEADS_LARGE_V3 = 13
WHISPER_AHEADS_LARGE_V3_TURBO = 14

# enum whisper_sampling_strategy { WHISPER_SAMPLING_GREEDY, WHISPER_SAMPLING_BEAM_SEARCH };
WHISPER_SAMPLING_GREEDY = 0
WHISPER_SAMPLING_BEAM_SEARCH = 1

# enum whisper_gretype { WHISPER_GRETYPE_END = 0, WHISPER_GRETYPE_ALT = 1, WHISPER_GRETYPE_RULE_REF = 2,
#     WHISPER_GRETYPE_CHAR = 3, WHISPER_GRETYPE_CHAR_NOT = 4, WHISPER_GRETYPE_CHAR_RNG_UPPER = 5,
#     WHISPER_GRETYPE_CHAR_ALT = 6 };
WHISPER_GRETYPE_END = 0
WHISPER_GRETYPE_ALT = 1
WHISPER_GRETYPE_RULE_REF = 2
WHISPER_GRETYPE_CHAR = 3
WHISPER_GRETYPE_CHAR_NOT = 4
WHISPER_GRETYPE_CHAR_RNG_UPPER = 5
WHISPER_GRETYPE_CHAR_ALT = 6

# enum ggml_log_level (ggml.h): NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5
GGML_LOG_LEVEL_NONE = 0
GGML_LOG_LEVEL_DEBUG = 1
GGML_LOG_LEVEL_INFO = 2
GGML_LOG_LEVEL_WARN = 3
GGML_LOG_LEVEL_ERROR = 4
GGML_LOG_LEVEL_CONT = 5


# --- structs ------------------------------------------------------------------
# typedef struct whisper_ahead { int n_text_layer; int n_head; } whisper_ahead;
class whisper_ahead(Structure):
    _fields_ = [("n_text_layer", c_int), ("n_head", c_int)]


# typedef struct whisper_aheads { size_t n_heads; const whisper_ahead * heads; } whisper_aheads;
class whisper_aheads(Structure):
    _fields_ = [("n_heads", c_size_t), ("heads", POINTER(whisper_ahead))]


# struct whisper_context_params {
#     bool  use_gpu; bool  flash_attn; int   gpu_device;
#     bool dtw_token_timestamps; enum whisper_alignment_heads_preset dtw_aheads_preset;
#     int dtw_n_top; struct whisper_aheads dtw_aheads;
#     size_t dtw_mem_size; };
class whisper_context_params(Structure):
    _fields_ = [
        ("use_gpu", c_bool),
        ("flash_attn", c_bool),
        ("gpu_device", c_int),
        ("dtw_token_timestamps", c_bool),
        ("dtw_aheads_preset", c_int),
        ("dtw_n_top", c_int),
        ("dtw_aheads", whisper_aheads),
        ("dtw_mem_size", c_size_t),
    ]


# typedef struct whisper_token_data {
#     whisper_token id; whisper_token tid; float p; float plog; float pt; float ptsum;
#     int64_t t0; int64_t t1; int64_t t_dtw; float vlen; } whisper_token_data;
class whisper_token_data(Structure):
    _fields_ = [
        ("id", whisper_token),
        ("tid", whisper_token),
        ("p", c_float),
        ("plog", c_float),
        ("pt", c_float),
        ("ptsum", c_float),
        ("t0", c_int64),
        ("t1", c_int64),
        ("t_dtw", c_int64),
        ("vlen", c_float),
    ]


# typedef struct whisper_model_loader {
#     void * context;
#     size_t (*read)(void * ctx, void * output, size_t read_size);
#     bool    (*eof)(void * ctx);
#     void  (*close)(void * ctx); } whisper_model_loader;
whisper_model_loader_read = CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_size_t)
whisper_model_loader_eof = CFUNCTYPE(c_bool, c_void_p)
whisper_model_loader_close = CFUNCTYPE(None, c_void_p)


class whisper_model_loader(Structure):
    _fields_ = [
        ("context", c_void_p),
        ("read", whisper_model_loader_read),
        ("eof", whisper_model_loader_eof),
        ("close", whisper_model_loader_close),
    ]


# typedef struct whisper_grammar_element { enum whisper_gretype type; uint32_t value; } whisper_grammar_element;
class whisper_grammar_element(Structure):
    _fields_ = [("type", c_int), ("value", c_uint32)]


# typedef struct whisper_vad_params {
#     float threshold; int min_speech_duration_ms; int min_silence_duration_ms;
#     float max_speech_duration_s; int speech_pad_ms; float samples_overlap; } whisper_vad_params;
class whisper_vad_params(Structure):
    _fields_ = [
        ("threshold", c_float),
        ("min_speech_duration_ms", c_int),
        ("min_silence_duration_ms", c_int),
        ("max_speech_duration_s", c_float),
        ("speech_pad_ms", c_int),
        ("samples_overlap", c_float),
    ]


# struct whisper_vad_context_params { int n_threads; bool use_gpu; int gpu_device; };
class whisper_vad_context_params(Structure):
    _fields_ = [("n_threads", c_int), ("use_gpu", c_bool), ("gpu_device", c_int)]


# struct whisper_timings { float sample_ms; float encode_ms; float decode_ms; float batchd_ms; float prompt_ms; };
class whisper_timings(Structure):
    _fields_ = [
        ("sample_ms", c_float),
        ("encode_ms", c_float),
        ("decode_ms", c_float),
        ("batchd_ms", c_float),
        ("prompt_ms", c_float),
    ]


# --- callback types -------------------------------------------------------------
# typedef void (*whisper_new_segment_callback)(struct whisper_context * ctx, struct whisper_state * state,
#                                              int n_new, void * user_data);
whisper_new_segment_callback = CFUNCTYPE(None, whisper_context_p, whisper_state_p, c_int, c_void_p)
# typedef void (*whisper_progress_callback)(struct whisper_context * ctx, struct whisper_state * state,
#                                           int progress, void * user_data);
whisper_progress_callback = CFUNCTYPE(None, whisper_context_p, whisper_state_p, c_int, c_void_p)
# typedef bool (*whisper_encoder_begin_callback)(struct whisper_context * ctx, struct whisper_state * state,
#                                                void * user_data);
whisper_encoder_begin_callback = CFUNCTYPE(c_bool, whisper_context_p, whisper_state_p, c_void_p)
# typedef bool (*ggml_abort_callback)(void * data);   (ggml.h)
ggml_abort_callback = CFUNCTYPE(c_bool, c_void_p)
# typedef void (*whisper_logits_filter_callback)(struct whisper_context * ctx, struct whisper_state * state,
#     const whisper_token_data * tokens, int n_tokens, float * logits, void * user_data);
whisper_logits_filter_callback = CFUNCTYPE(
    None, whisper_context_p, whisper_state_p, POINTER(whisper_token_data), c_int, POINTER(c_float), c_void_p
)
# typedef void (*ggml_log_callback)(enum ggml_log_level level, const char * text, void * user_data);  (ggml.h)
ggml_log_callback = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


# struct { int best_of; } greedy;
class whisper_full_params_greedy(Structure):
    _fields_ = [("best_of", c_int)]


# struct { int beam_size; float patience; } beam_search;
class whisper_full_params_beam_search(Structure):
    _fields_ = [("beam_size", c_int), ("patience", c_float)]


# struct whisper_full_params { ... }  (v1.8.5; see include/whisper.h for the field comments)
class whisper_full_params(Structure):
    _fields_ = [
        ("strategy", c_int),  # enum whisper_sampling_strategy strategy;
        ("n_threads", c_int),  # int n_threads;
        ("n_max_text_ctx", c_int),  # int n_max_text_ctx;
        ("offset_ms", c_int),  # int offset_ms;
        ("duration_ms", c_int),  # int duration_ms;
        ("translate", c_bool),  # bool translate;
        ("no_context", c_bool),  # bool no_context;
        ("no_timestamps", c_bool),  # bool no_timestamps;
        ("single_segment", c_bool),  # bool single_segment;
        ("print_special", c_bool),  # bool print_special;
        ("print_progress", c_bool),  # bool print_progress;
        ("print_realtime", c_bool),  # bool print_realtime;
        ("print_timestamps", c_bool),  # bool print_timestamps;
        ("token_timestamps", c_bool),  # bool  token_timestamps;
        ("thold_pt", c_float),  # float thold_pt;
        ("thold_ptsum", c_float),  # float thold_ptsum;
        ("max_len", c_int),  # int   max_len;
        ("split_on_word", c_bool),  # bool  split_on_word;
        ("max_tokens", c_int),  # int   max_tokens;
        ("debug_mode", c_bool),  # bool debug_mode;
        ("audio_ctx", c_int),  # int  audio_ctx;
        ("tdrz_enable", c_bool),  # bool tdrz_enable;
        ("suppress_regex", c_char_p),  # const char * suppress_regex;
        ("initial_prompt", c_char_p),  # const char * initial_prompt;
        ("carry_initial_prompt", c_bool),  # bool carry_initial_prompt;
        ("prompt_tokens", POINTER(whisper_token)),  # const whisper_token * prompt_tokens;
        ("prompt_n_tokens", c_int),  # int prompt_n_tokens;
        ("language", c_char_p),  # const char * language;
        ("detect_language", c_bool),  # bool detect_language;
        ("suppress_blank", c_bool),  # bool suppress_blank;
        ("suppress_nst", c_bool),  # bool suppress_nst;
        ("temperature", c_float),  # float temperature;
        ("max_initial_ts", c_float),  # float max_initial_ts;
        ("length_penalty", c_float),  # float length_penalty;
        ("temperature_inc", c_float),  # float temperature_inc;
        ("entropy_thold", c_float),  # float entropy_thold;
        ("logprob_thold", c_float),  # float logprob_thold;
        ("no_speech_thold", c_float),  # float no_speech_thold;
        ("greedy", whisper_full_params_greedy),  # struct { int best_of; } greedy;
        ("beam_search", whisper_full_params_beam_search),  # struct { int beam_size; float patience; } beam_search;
        ("new_segment_callback", whisper_new_segment_callback),
        ("new_segment_callback_user_data", c_void_p),
        ("progress_callback", whisper_progress_callback),
        ("progress_callback_user_data", c_void_p),
        ("encoder_begin_callback", whisper_encoder_begin_callback),
        ("encoder_begin_callback_user_data", c_void_p),
        ("abort_callback", ggml_abort_callback),
        ("abort_callback_user_data", c_void_p),
        ("logits_filter_callback", whisper_logits_filter_callback),
        ("logits_filter_callback_user_data", c_void_p),
        ("grammar_rules", POINTER(POINTER(whisper_grammar_element))),  # const whisper_grammar_element ** grammar_rules;
        ("n_grammar_rules", c_size_t),  # size_t n_grammar_rules;
        ("i_start_rule", c_size_t),  # size_t i_start_rule;
        ("grammar_penalty", c_float),  # float grammar_penalty;
        ("vad", c_bool),  # bool vad;
        ("vad_model_path", c_char_p),  # const char * vad_model_path;
        ("vad_params", whisper_vad_params),  # whisper_vad_params vad_params;
        # localwhisper patch 0005 (beam-search fallback for greedy decoding):
        ("fallback_beam_size", c_int),  # int fallback_beam_size;
        ("fallback_beam_logprob_thold", c_float),  # float fallback_beam_logprob_thold;
    ]


MIRRORED_STRUCTS: dict[str, type[Structure]] = {
    "whisper_ahead": whisper_ahead,
    "whisper_aheads": whisper_aheads,
    "struct whisper_context_params": whisper_context_params,
    "whisper_token_data": whisper_token_data,
    "whisper_model_loader": whisper_model_loader,
    "whisper_grammar_element": whisper_grammar_element,
    "whisper_vad_params": whisper_vad_params,
    "struct whisper_vad_context_params": whisper_vad_context_params,
    "struct whisper_timings": whisper_timings,
    "struct whisper_full_params": whisper_full_params,
}
