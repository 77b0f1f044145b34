"""1:1 ctypes declarations of the device and registry calls of ggml's ``ggml-backend.h``.

The few calls that say which backends (CPU, CUDA, ...) are registered and which devices
they offer, with their memory. Each binding carries the C declaration it mirrors as a
comment above it. No struct is mirrored: only opaque handles, enums and ``size_t``
out-parameters. Read through :mod:`whisper_native.devices`.
"""

from __future__ import annotations

from ctypes import POINTER, c_char_p, c_int, c_size_t
from typing import Any

from ._ctypes_ext import ctypes_function_for, opaque_pointer_type
from ._loader import load_library

# typedef struct ggml_backend_device * ggml_backend_dev_t;
ggml_backend_dev_t = opaque_pointer_type("ggml_backend_device")
# typedef struct ggml_backend_reg * ggml_backend_reg_t;
ggml_backend_reg_t = opaque_pointer_type("ggml_backend_reg")

# enum ggml_backend_dev_type { GGML_BACKEND_DEVICE_TYPE_CPU, GGML_BACKEND_DEVICE_TYPE_GPU,
#     GGML_BACKEND_DEVICE_TYPE_IGPU, GGML_BACKEND_DEVICE_TYPE_ACCEL, GGML_BACKEND_DEVICE_TYPE_META };
GGML_BACKEND_DEVICE_TYPE_CPU = 0
GGML_BACKEND_DEVICE_TYPE_GPU = 1
GGML_BACKEND_DEVICE_TYPE_IGPU = 2
GGML_BACKEND_DEVICE_TYPE_ACCEL = 3
GGML_BACKEND_DEVICE_TYPE_META = 4

_whisper_lib, _ggml_lib = load_library()
ggml_function = ctypes_function_for(_ggml_lib)


# GGML_API size_t ggml_backend_reg_count(void);
@ggml_function("ggml_backend_reg_count", [], c_size_t)
def ggml_backend_reg_count() -> int: ...


# GGML_API ggml_backend_reg_t ggml_backend_reg_get(size_t index);
@ggml_function("ggml_backend_reg_get", [c_size_t], ggml_backend_reg_t)
def ggml_backend_reg_get(index: Any) -> Any: ...


# GGML_API const char * ggml_backend_reg_name(ggml_backend_reg_t reg);
@ggml_function("ggml_backend_reg_name", [ggml_backend_reg_t], c_char_p)
def ggml_backend_reg_name(reg: Any) -> bytes: ...


# GGML_API size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg);
@ggml_function("ggml_backend_reg_dev_count", [ggml_backend_reg_t], c_size_t)
def ggml_backend_reg_dev_count(reg: Any) -> int: ...


# GGML_API size_t ggml_backend_dev_count(void);
@ggml_function("ggml_backend_dev_count", [], c_size_t)
def ggml_backend_dev_count() -> int: ...


# GGML_API ggml_backend_dev_t ggml_backend_dev_get(size_t index);
@ggml_function("ggml_backend_dev_get", [c_size_t], ggml_backend_dev_t)
def ggml_backend_dev_get(index: Any) -> Any: ...


# GGML_API const char * ggml_backend_dev_name(ggml_backend_dev_t device);
@ggml_function("ggml_backend_dev_name", [ggml_backend_dev_t], c_char_p)
def ggml_backend_dev_name(device: Any) -> bytes: ...


# GGML_API const char * ggml_backend_dev_description(ggml_backend_dev_t device);
@ggml_function("ggml_backend_dev_description", [ggml_backend_dev_t], c_char_p)
def ggml_backend_dev_description(device: Any) -> bytes: ...


# GGML_API void ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free, size_t * total);
@ggml_function("ggml_backend_dev_memory", [ggml_backend_dev_t, POINTER(c_size_t), POINTER(c_size_t)], None)
def ggml_backend_dev_memory(device: Any, free: Any, total: Any) -> None: ...


# GGML_API enum ggml_backend_dev_type ggml_backend_dev_type(ggml_backend_dev_t device);
@ggml_function("ggml_backend_dev_type", [ggml_backend_dev_t], c_int)
def ggml_backend_dev_type(device: Any) -> int: ...
