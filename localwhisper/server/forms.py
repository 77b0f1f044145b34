"""Streaming ``multipart/form-data`` parsing with the upload cap enforced as bytes arrive.

The body is fed chunk by chunk into python-multipart's push parser. The audio part
(``file``) is spooled to a :class:`tempfile.SpooledTemporaryFile` (memory up to 1 MiB, then
an unlinked temporary file, so nothing is left on disk even after a crash); every other
part is a short text field. A ``Content-Length`` over the cap is refused before the body is
read, and a body without one is refused as soon as the cap is crossed, so an oversized
upload is never all in memory or on disk. A client that stalls longer than the read
timeout gets 408 and its connection is closed.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from localwhisper.errors import FileTooLarge, InvalidRequest, RequestTimeout, UnsupportedMediaType

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 * 1024  # one text field (a prompt is at most a few hundred tokens)
MAX_PARTS = 256
FORM_OVERHEAD_BYTES = 1 << 20  # body bytes allowed beyond the file cap: fields and part headers
SPOOL_MEMORY_BYTES = 1 << 20


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    file: IO[bytes]
    size: int = 0


@dataclass
class UploadForm:
    """Text fields (every value, in order) and the spooled ``file`` part."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file: UploadedFile | None = None
    other_file_fields: list[str] = field(default_factory=list)  # file parts under another name
    body_bytes: int = 0

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, ()))

    def close(self) -> None:
        if self.file is not None:
            self.file.file.close()


@asynccontextmanager
async def receive_form(request: Request, *, max_file_bytes: int, read_timeout_s: float
                       ) -> AsyncIterator[UploadForm]:
    """Parse the request body; the spooled file is closed (and so removed) on exit, always."""
    form = UploadForm()
    try:
        await _FormReader(request, form, max_file_bytes, read_timeout_s).read()
        yield form
    finally:
        form.close()


def _media_type(request: Request) -> tuple[bytes, dict[bytes, bytes]]:
    return parse_options_header(request.headers.get("content-type"))


class _FormReader:
    def __init__(self, request: Request, form: UploadForm, max_file_bytes: int,
                 read_timeout_s: float) -> None:
        self.request = request
        self.form = form
        self.max_file_bytes = max_file_bytes
        self.max_body_bytes = max_file_bytes + FORM_OVERHEAD_BYTES
        self.read_timeout_s = read_timeout_s
        self.ended = False
        self.parts = 0
        # the part being parsed
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._text: bytearray | None = None
        self._file: UploadedFile | None = None

    async def read(self) -> None:
        media_type, params = _media_type(self.request)
        if media_type != b"multipart/form-data":
            shown = media_type.decode("latin-1") or "none"
            raise UnsupportedMediaType(
                f"Expected a multipart/form-data body (got Content-Type: {shown}); send the audio as the "
                "'file' field of a form.")
        boundary = params.get(b"boundary")
        if not boundary:
            raise InvalidRequest("The multipart/form-data Content-Type has no boundary parameter.")
        self._check_content_length()
        try:
            parser = MultipartParser(boundary, {
                "on_part_begin": self._on_part_begin, "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished, "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end, "on_end": self._on_end,
            })
            async for chunk in self._chunks():
                parser.write(chunk)
            parser.finalize()
        except FormParserError as exc:
            raise InvalidRequest(f"Malformed multipart/form-data body: {exc}") from None
        if not self.ended:
            raise InvalidRequest("The multipart/form-data body ended before its closing boundary.")

    def _check_content_length(self) -> None:
        declared = self.request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()

    def _too_large(self) -> FileTooLarge:
        return FileTooLarge(f"The upload is larger than the {self.max_file_bytes:,} byte limit.",
                            param="file")

    async def _chunks(self) -> AsyncIterator[bytes]:
        receive = self.request.receive
        while True:
            try:
                with anyio.fail_after(self.read_timeout_s):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.read_timeout_s:g} s; closing the "
                    "connection.") from None
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            body: bytes = message.get("body", b"")
            self.form.body_bytes += len(body)
            if self.form.body_bytes > self.max_body_bytes:
                raise self._too_large()
            if body:
                yield body
            if not message.get("more_body", False):
                return

    # --- parser callbacks ---------------------------------------------------------------------
    def _on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidRequest(f"The form has more than {MAX_PARTS} parts.")
        self._headers = {}
        self._name, self._text, self._file = "", None, None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidRequest("A form part has no Content-Disposition: form-data name.")
        self._name = options[b"name"].decode("utf-8", errors="replace")
        filename = options.get(b"filename")
        if self._name == FILE_FIELD and self.form.file is None:
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            self._file = UploadedFile(
                filename=(filename or b"").decode("utf-8", errors="replace"),
                content_type=content_type.decode("latin-1"),
                file=tempfile.SpooledTemporaryFile(  # noqa: SIM115 - UploadForm.close() closes it
                    max_size=SPOOL_MEMORY_BYTES, prefix="localwhisper-"))
            self.form.file = self._file
        elif filename is not None:
            self.form.other_file_fields.append(self._name)  # counted against the cap, then dropped
        else:
            self._text = bytearray()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.size += end - start
            if self._file.size > self.max_file_bytes:
                raise self._too_large()
            self._file.file.write(data[start:end])
        elif self._text is not None:
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                raise InvalidRequest(f"The form field '{self._name}' is longer than {MAX_FIELD_BYTES} bytes.",
                                     param=self._name)

    def _on_part_end(self) -> None:
        if self._file is not None:
            self._file.file.seek(0)
        elif self._text is not None:
            try:
                value = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidRequest(f"The form field '{self._name}' is not valid UTF-8.",
                                     param=self._name) from None
            self.form.fields.setdefault(self._name, []).append(value)
        self._name, self._text, self._file = "", None, None

    def _on_end(self) -> None:
        self.ended = True
