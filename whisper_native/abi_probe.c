/* ABI probe: prints sizeof/offsetof of every whisper.h struct that
 * whisper_native/whisper_h.py mirrors, as JSON. Built by CMake against the
 * same headers as libwhisper; tests/test_native_abi.py compares it to ctypes. */
#include <stddef.h>
#include <stdio.h>

#include "whisper.h"

static int first_field;

#define BEGIN(T) printf("%s\"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "" : ", ", #T, sizeof(T)); first_struct = 0; first_field = 1;
#define FIELD(T, F) printf("%s\"%s\": %zu", first_field ? "" : ", ", #F, offsetof(T, F)); first_field = 0;
#define END() printf("}}");

int main(void) {
    int first_struct = 1;
    printf("{");

    BEGIN(whisper_ahead)
    FIELD(whisper_ahead, n_text_layer) FIELD(whisper_ahead, n_head)
    END()

    BEGIN(whisper_aheads)
    FIELD(whisper_aheads, n_heads) FIELD(whisper_aheads, heads)
    END()

    BEGIN(struct whisper_context_params)
    FIELD(struct whisper_context_params, use_gpu) FIELD(struct whisper_context_params, flash_attn)
    FIELD(struct whisper_context_params, gpu_device) FIELD(struct whisper_context_params, dtw_token_timestamps)
    FIELD(struct whisper_context_params, dtw_aheads_preset) FIELD(struct whisper_context_params, dtw_n_top)
    FIELD(struct whisper_context_params, dtw_aheads) FIELD(struct whisper_context_params, dtw_mem_size)
    END()

    BEGIN(whisper_token_data)
    FIELD(whisper_token_data, id) FIELD(whisper_token_data, tid) FIELD(whisper_token_data, p)
    FIELD(whisper_token_data, plog) FIELD(whisper_token_data, pt) FIELD(whisper_token_data, ptsum)
    FIELD(whisper_token_data, t0) FIELD(whisper_token_data, t1) FIELD(whisper_token_data, t_dtw)
    FIELD(whisper_token_data, vlen)
    END()

    BEGIN(whisper_model_loader)
    FIELD(whisper_model_loader, context) FIELD(whisper_model_loader, read)
    FIELD(whisper_model_loader, eof) FIELD(whisper_model_loader, close)
    END()

    BEGIN(whisper_grammar_element)
    FIELD(whisper_grammar_element, type) FIELD(whisper_grammar_element, value)
    END()

    BEGIN(whisper_vad_params)
    FIELD(whisper_vad_params, threshold) FIELD(whisper_vad_params, min_speech_duration_ms)
    FIELD(whisper_vad_params, min_silence_duration_ms) FIELD(whisper_vad_params, max_speech_duration_s)
    FIELD(whisper_vad_params, speech_pad_ms) FIELD(whisper_vad_params, samples_overlap)
    END()

    BEGIN(struct whisper_vad_context_params)
    FIELD(struct whisper_vad_context_params, n_threads) FIELD(struct whisper_vad_context_params, use_gpu)
    FIELD(struct whisper_vad_context_params, gpu_device)
    END()

    BEGIN(struct whisper_timings)
    FIELD(struct whisper_timings, sample_ms) FIELD(struct whisper_timings, encode_ms)
    FIELD(struct whisper_timings, decode_ms) FIELD(struct whisper_timings, batchd_ms)
    FIELD(struct whisper_timings, prompt_ms)
    END()

#define P struct whisper_full_params
    BEGIN(struct whisper_full_params)
    FIELD(P, strategy) FIELD(P, n_threads) FIELD(P, n_max_text_ctx) FIELD(P, offset_ms) FIELD(P, duration_ms)
    FIELD(P, translate) FIELD(P, no_context) FIELD(P, no_timestamps) FIELD(P, single_segment)
    FIELD(P, print_special) FIELD(P, print_progress) FIELD(P, print_realtime) FIELD(P, print_timestamps)
    FIELD(P, token_timestamps) FIELD(P, thold_pt) FIELD(P, thold_ptsum) FIELD(P, max_len)
    FIELD(P, split_on_word) FIELD(P, max_tokens) FIELD(P, debug_mode) FIELD(P, audio_ctx)
    FIELD(P, tdrz_enable) FIELD(P, suppress_regex) FIELD(P, initial_prompt) FIELD(P, carry_initial_prompt)
    FIELD(P, prompt_tokens) FIELD(P, prompt_n_tokens) FIELD(P, language) FIELD(P, detect_language)
    FIELD(P, suppress_blank) FIELD(P, suppress_nst) FIELD(P, temperature) FIELD(P, max_initial_ts)
    FIELD(P, length_penalty) FIELD(P, temperature_inc) FIELD(P, entropy_thold) FIELD(P, logprob_thold)
    FIELD(P, no_speech_thold) FIELD(P, greedy) FIELD(P, beam_search)
    FIELD(P, new_segment_callback) FIELD(P, new_segment_callback_user_data)
    FIELD(P, progress_callback) FIELD(P, progress_callback_user_data)
    FIELD(P, encoder_begin_callback) FIELD(P, encoder_begin_callback_user_data)
    FIELD(P, abort_callback) FIELD(P, abort_callback_user_data)
    FIELD(P, logits_filter_callback) FIELD(P, logits_filter_callback_user_data)
    FIELD(P, grammar_rules) FIELD(P, n_grammar_rules) FIELD(P, i_start_rule) FIELD(P, grammar_penalty)
    FIELD(P, vad) FIELD(P, vad_model_path) FIELD(P, vad_params)
    FIELD(P, fallback_beam_size) FIELD(P, fallback_beam_logprob_thold)
    END()
#undef P

    printf("}\n");
    return 0;
}
