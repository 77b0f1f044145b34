"""Transcription: ``Model`` (:mod:`.engine`) over a pool of whisper states (:mod:`.pool`).

One input flows through :mod:`.engine` (options, VAD, language, pieces) → :mod:`.chunk_decoder`
(one native pass per piece, the repetition guard of :mod:`.repetition`) → :mod:`.decoding`
(the native parameters) and :mod:`.words` (word timing). :mod:`.streaming` iterates segments
while a transcription runs. Nothing is imported here, so loading one module loads no others.
"""
