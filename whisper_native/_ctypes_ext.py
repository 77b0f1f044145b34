"""Small ctypes helpers: a declaration decorator and opaque handle types."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def ctypes_function_for(library: ctypes.CDLL) -> Callable[[str, Sequence[Any], Any], Callable[[F], F]]:
    """Return a decorator that binds a Python stub to ``library.<name>``.

    The stub documents the Python signature; the returned object is the ctypes
    function itself with ``argtypes``/``restype`` set, so calls go straight to C
    (and release the GIL for the call's duration).
    """

    def ctypes_function(name: str, argtypes: Sequence[Any], restype: Any) -> Callable[[F], F]:
        def decorator(stub: F) -> F:
            native = getattr(library, name)
            native.argtypes = list(argtypes)
            native.restype = restype
            native.__doc__ = stub.__doc__
            return native  # type: ignore[no-any-return]

        return decorator

    return ctypes_function


class OpaqueHandle(ctypes.c_void_p):
    """Base for pointers to C structs whose layout we never touch.

    A subclass per C handle type keeps a ``whisper_state *`` from being passed
    where a ``whisper_context *`` is expected.
    """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.value:#x}>" if self.value else f"<{type(self).__name__} NULL>"


def opaque_pointer_type(c_name: str) -> type[OpaqueHandle]:
    return type(c_name + "_p", (OpaqueHandle,), {"c_name": c_name})
