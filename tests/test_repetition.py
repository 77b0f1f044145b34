"""The repetition-loop guard (pure text rules; the engine restart is exercised in bench/long_audio.py)."""

from __future__ import annotations

from localwhisper.transcribe.repetition import compression_ratio, is_repetition_loop

LOOP = " Dial 5. To send this caller to the torture menus."


def test_a_highly_compressible_segment_is_a_loop() -> None:
    looping = LOOP * 4
    assert compression_ratio(looping) > 2.4
    assert is_repetition_loop(looping, [], 2.4)
    assert not is_repetition_loop(looping, [], None)  # the ratio check can be switched off


def test_the_same_sentence_three_times_running_is_a_loop() -> None:
    assert compression_ratio(LOOP) < 2.4
    assert not is_repetition_loop(LOOP, [LOOP], 2.4)
    assert is_repetition_loop(LOOP, [" Something else.", LOOP, LOOP], 2.4)
    assert is_repetition_loop(LOOP.upper(), [LOOP, LOOP.replace(".", "!")], 2.4)  # case and punctuation


def test_ordinary_speech_and_short_repeats_are_not_loops() -> None:
    assert not is_repetition_loop(" Please try again.", [" Please try again.", " Please try again."], 2.4)
    speech = " And so my fellow Americans, ask not what your country can do for you."
    assert not is_repetition_loop(speech, [" ask what you can do for your country."], 2.4)
    assert compression_ratio("") == 0.0
