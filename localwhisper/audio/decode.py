"""Audio input → the float32 mono 16 kHz array whisper expects.

Everything FFmpeg demuxes (video containers included) is decoded in-process
with PyAV: the first audio stream is taken, other streams are ignored, and
libswresample converts, downmixes and resamples. Audio that already is 16 kHz
mono skips the resampler: its sample-format conversion is done in numpy with the
same arithmetic libswresample uses, so the result is bit-identical, only faster.

Safety: input is always handed to FFmpeg as a Python file object and nested
opens (playlists, concat scripts, SDP files, external references) are refused,
so an upload can never make the decoder read local files or open sockets. The
duration limit is checked while decoding, so a tiny file cannot expand into
gigabytes. Every failure raises :class:`~localwhisper.errors.InvalidAudio` (or
its subclass :class:`~localwhisper.errors.AudioTooLong`), or
:class:`~localwhisper.errors.FileTooLarge` for oversized input; a successful
result is never empty and contains only finite samples.
"""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import av
import av.logging
import numpy as np

from localwhisper.audio.limits import DEFAULT_LIMITS, SAMPLE_RATE, AudioLimits, format_bytes, too_long
from localwhisper.audio.resample import MAX_CHANNELS, FrameConverter, SampleBuffer
from localwhisper.errors import FileTooLarge, InvalidAudio

AudioSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | np.ndarray

_ARRAY_SCALE = {np.dtype(np.int16): 2.0**-15, np.dtype(np.int32): 2.0**-31,
                np.dtype(np.float32): None, np.dtype(np.float64): None}
# A protocol name that matches nothing: nested opens by demuxers are refused.
_OPEN_OPTIONS = {"protocol_whitelist": "none"}
_IO_BUFFER = 1 << 18
_MAX_LEADING_FAILURES = 16  # packets that fail to decode before any audio came out
_MAX_INITIAL_SAMPLES = 30 * 60 * SAMPLE_RATE  # the buffer grows (by realloc) past this

_log = logging.getLogger(__name__)

if av.logging.get_level() is None:  # nobody asked for libav logs: keep stderr clean
    av.logging.set_level(None)


def decode_audio(source: AudioSource, *, limits: AudioLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Return ``source`` as a non-empty, C-contiguous float32 mono 16 kHz array.

    ``source`` may be a path (``str`` or ``os.PathLike``), encoded bytes
    (``bytes``/``bytearray``/``memoryview``), a binary file object (read from its
    current position), or a numpy array of already-decoded samples:
    float32, float64, int16 or int32 (integers are scaled to [-1, 1)), either
    1-D (mono, assumed 16 kHz) or 2-D with channels on the shorter axis
    (downmixed by averaging, assumed 16 kHz). A float32 1-D contiguous array is
    returned as is, without a copy.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, limits)
    return next(stream_audio(source, limits=limits, block_samples=None))


def stream_audio(source: AudioSource, *, limits: AudioLimits = DEFAULT_LIMITS,
                 block_samples: int | None = 30 * SAMPLE_RATE,
                 header: dict[str, int] | None = None) -> Iterator[np.ndarray]:
    """Yield ``source`` as consecutive float32 mono 16 kHz blocks while it is decoded.

    Each block holds ``block_samples`` samples (the last one fewer; ``None``: one block
    with everything), so a caller that consumes blocks as they come holds O(block) of
    decoded audio, not O(duration). The same checks as :func:`decode_audio` apply; the
    duration limit is enforced as decoding goes, and a failure can surface after blocks
    were yielded. A numpy array is yielded as views of :func:`decode_audio`'s result.
    ``header``, when given, receives ``expected_samples``: the length the headers announce
    (they may lie: for progress only), set before the first block.
    """
    header = {} if header is None else header
    if isinstance(source, np.ndarray):
        samples = _from_array(source, limits)
        header["expected_samples"] = len(samples)
        step = block_samples or len(samples)
        for start in range(0, len(samples), step):
            yield samples[start:start + step]
        return
    with _open_stream(source, limits) as stream:
        yield from _decode_stream(stream, limits, block_samples, header)


# --- inputs -------------------------------------------------------------------

@contextmanager
def _open_stream(source: object, limits: AudioLimits) -> Iterator[BinaryIO]:
    """Yield a binary stream positioned at offset 0 that holds exactly the input."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), limits)
        yield io.BytesIO(data)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            file = open(path, "rb")  # noqa: SIM115 - closed below, after decoding
        except FileNotFoundError:
            raise InvalidAudio(f"Audio file not found: {path}", param="file") from None
        except IsADirectoryError:
            raise InvalidAudio(f"Expected an audio file but got a directory: {path}", param="file") from None
        except OSError as exc:
            raise InvalidAudio(f"Cannot read the audio file {path}: {exc.strerror or exc}",
                               param="file") from None
        with file:
            yield _whole_stream(file, limits)
    elif isinstance(source, io.TextIOBase):
        raise TypeError("decode_audio needs a binary file object; open the file in 'rb' mode")
    elif callable(getattr(source, "read", None)):
        yield _whole_stream(source, limits)  # type: ignore[arg-type]
    else:
        raise TypeError(f"decode_audio cannot read a {type(source).__name__}; pass a path, bytes, "
                        "a binary file object or a numpy array")


def _whole_stream(file: BinaryIO, limits: AudioLimits) -> BinaryIO:
    """The rest of ``file`` as a seekable stream starting at 0 (the file itself when it is one)."""
    try:
        if _seekable(file):
            start = file.tell()
            size = file.seek(0, io.SEEK_END) - start
            file.seek(start)
            _check_size(size, limits)
            if start == 0:
                return file
        cap = limits.max_input_bytes
        data = file.read() if cap is None else file.read(cap + 1)
    except (OSError, ValueError) as exc:
        raise InvalidAudio(f"Cannot read the audio input: {exc}", param="file") from exc
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("decode_audio needs a binary file object; its read() returned "
                        f"{type(data).__name__}")
    _check_size(len(data), limits)
    return io.BytesIO(data)


def _seekable(file: BinaryIO) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _check_size(size: int, limits: AudioLimits) -> None:
    if size == 0:
        raise InvalidAudio("The audio file is empty.", param="file")
    cap = limits.max_input_bytes
    if cap is not None and size > cap:
        raise FileTooLarge(f"The audio file is larger than the {format_bytes(cap)} limit.", param="file")


def _from_array(array: np.ndarray, limits: AudioLimits) -> np.ndarray:
    if array.dtype not in _ARRAY_SCALE:
        raise InvalidAudio(f"Unsupported sample array dtype {array.dtype}; use float32, float64, "
                           "int16 or int32.", param="file")
    channel_axis = 0 if array.ndim != 2 or array.shape[0] <= array.shape[1] else 1
    if array.ndim == 2:
        if array.shape[channel_axis] > MAX_CHANNELS:
            raise InvalidAudio(f"A 2-D sample array must have at most {MAX_CHANNELS} channels on its "
                               f"shorter axis; got shape {array.shape}.", param="file")
    elif array.ndim != 1:
        raise InvalidAudio(f"A sample array must be 1-D (mono) or 2-D (channels); got {array.ndim}-D.",
                           param="file")
    if array.size == 0:
        raise InvalidAudio("The sample array contains no audio samples.", param="file")
    n_samples = array.shape[1 - channel_axis] if array.ndim == 2 else array.size
    if n_samples > limits.max_decoded_samples:
        raise too_long(limits)
    scale = _ARRAY_SCALE[array.dtype]
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values are caught below
        samples = array.astype(np.float32, copy=False)
        if scale is not None:
            samples = samples * np.float32(scale)
        if array.ndim == 2:
            samples = samples.mean(axis=channel_axis, dtype=np.float32)
    samples = np.ascontiguousarray(samples)
    _require_finite(samples)
    return samples


def _require_finite(samples: np.ndarray) -> None:
    if not np.isfinite(samples).all():
        raise InvalidAudio("The audio contains NaN or infinite sample values.", param="file")


# --- decoding -----------------------------------------------------------------

def _decode_stream(stream: BinaryIO, limits: AudioLimits, block_samples: int | None,
                   header: dict[str, int]) -> Iterator[np.ndarray]:
    try:
        container = av.open(stream, mode="r", metadata_errors="ignore", buffer_size=_IO_BUFFER,
                            container_options=_OPEN_OPTIONS)
    except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise InvalidAudio("Could not read the file as audio: it is not a recognised audio or video "
                           f"format, or it is corrupt ({_reason(exc)}).", param="file") from exc
    try:
        with container:
            yielded = False
            for block in _decode_container(container, limits, block_samples, header):
                _require_finite(block)
                yielded = True
                yield block
    except (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise InvalidAudio(f"Could not decode the audio ({_reason(exc)}).", param="file") from exc
    if not yielded:
        raise InvalidAudio("The audio stream contains no audio samples.", param="file")


def _decode_container(container: av.container.InputContainer, limits: AudioLimits,
                      block_samples: int | None, header: dict[str, int]) -> Iterator[np.ndarray]:
    if not container.streams.audio:
        kinds = Counter(s.type for s in container.streams)
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no streams"
        raise InvalidAudio(f"The file has no audio stream (found: {found}).", param="file")
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise InvalidAudio("The audio stream uses a codec that cannot be decoded.", param="file")
    header["expected_samples"] = announced = _announced_samples(container, stream)
    capacity = min(announced, _MAX_INITIAL_SAMPLES)  # the first allocation only
    buffer = SampleBuffer(capacity if block_samples is None else min(capacity, block_samples), limits)
    converter: FrameConverter | None = None
    packets = _Packets(container, stream)
    failures: list[av.FFmpegError] = []
    for packet in packets:
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:  # skip a corrupt packet, as ffmpeg does, unless nothing decodes
            failures.append(exc)
            if buffer.total == 0 and len(failures) >= _MAX_LEADING_FAILURES:
                break
            continue
        for frame in frames:
            if converter is None or not converter.accepts(frame):
                if converter is not None:
                    converter.flush(buffer)
                converter = FrameConverter(frame)
            converter.convert(frame, buffer)
            while block_samples is not None and buffer.size >= block_samples:
                yield buffer.take(block_samples)
    if converter is not None:
        converter.flush(buffer)
    if buffer.total == 0 and (failures or packets.error):
        raise _undecodable(stream, failures[0] if failures else packets.error)
    if failures or packets.error:
        _log.warning("decoded %.1f s of audio, skipping %d corrupt packet(s)%s", buffer.total / SAMPLE_RATE,
                     len(failures), " and a truncated or corrupt end" if packets.error else "")
    while block_samples is not None and buffer.size > block_samples:
        yield buffer.take(block_samples)
    if buffer.size:
        yield buffer.finish()


class _Packets:
    """The audio stream's packets; a demuxing error ends them (a truncated or corrupt file)."""

    def __init__(self, container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> None:
        self._demuxer = container.demux(stream)
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[av.Packet]:
        while True:
            try:
                packet = next(self._demuxer)
            except StopIteration:
                return
            except (av.FFmpegError, EOFError) as exc:
                self.error = exc
                return
            yield packet


def _undecodable(stream: av.audio.stream.AudioStream, exc: BaseException | None) -> InvalidAudio:
    ctx = stream.codec_context
    if ctx.channels < 1:
        return InvalidAudio("The audio stream declares 0 channels.", param="file")
    detail = f" ({_reason(exc)})" if exc is not None else ""
    return InvalidAudio(f"The {ctx.name} audio stream could not be decoded{detail}.", param="file")


def _announced_samples(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> int:
    """Output samples the headers announce (30 s when they say nothing): they may lie."""
    seconds = 30.0
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / av.time_base
    return int(seconds * SAMPLE_RATE * 1.01) + SAMPLE_RATE


def _reason(exc: BaseException) -> str:
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__
