"""Models: YAML configs (:mod:`.config`), names → loaded models (:mod:`.registry`), getting
weights (:mod:`.hub`: pull, import, quantise), CTranslate2 → ggml conversion (:mod:`.convert`)
and the ggml file format (:mod:`.ggml_file`). Nothing is imported here: :mod:`.registry` loads
the native engine, the others do not."""
