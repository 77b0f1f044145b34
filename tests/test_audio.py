"""localwhisper.audio: every input kind and container → float32 mono 16 kHz, typed failures, limits."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import JFK_WAV

from localwhisper.audio import SAMPLE_RATE, AudioLimits, decode_audio
from localwhisper.errors import AudioTooLong, FileTooLarge, InvalidAudio

JFK = JFK_WAV
JFK_SECONDS = 11.0


# --- helpers -------------------------------------------------------------------

def wav_bytes(*, channels: int = 1, rate: int = 16000, bits: int = 16, fmt_tag: int = 1,
              data: bytes = b"\x00\x10" * 1600, declared_data_size: int | None = None) -> bytes:
    """A RIFF/WAVE file written by hand, so headers can say anything."""
    block_align = channels * bits // 8
    byte_rate = (rate * block_align) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, byte_rate, block_align, bits)
    size = len(data) if declared_data_size is None else declared_data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jfk_frames() -> list[av.AudioFrame]:
    with av.open(str(JFK)) as container:
        return list(container.decode(audio=0))


def encode(path: Path, codec: str | None, rate: int = 16000, layout: str = "mono", *,
           fmt: str | None = None, video: bool = False) -> Path:
    """Re-encode jfk.wav with PyAV into ``path`` (optionally with a video stream, or video only)."""
    with av.open(str(path), "w", format=fmt) as out:
        if video:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        if codec is not None:
            astream = out.add_stream(codec, rate=rate, layout=layout)
            ctx = astream.codec_context
            resampler = av.AudioResampler(format=ctx.format.name, layout=layout, rate=rate,
                                          frame_size=ctx.frame_size or None)
            for frame in jfk_frames():
                for converted in resampler.resample(frame):
                    out.mux(astream.encode(converted))
            for converted in resampler.resample(None):
                out.mux(astream.encode(converted))
            out.mux(astream.encode(None))
        if video:
            for i in range(int(JFK_SECONDS * 10)):
                picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")
                picture.pts = i
                out.mux(vstream.encode(picture))
            out.mux(vstream.encode(None))
    return path


def similarity(reference: np.ndarray, other: np.ndarray, max_lag: int = 4000) -> float:
    """Peak normalised cross-correlation over lags 0..max_lag (lossy codecs may delay the signal)."""
    n = min(reference.size, other.size)
    a, b = reference[:n].astype(np.float64), other[:n].astype(np.float64)
    spectrum = np.conj(np.fft.rfft(a, 2 * n)) * np.fft.rfft(b, 2 * n)
    correlation = np.fft.irfft(spectrum)[:max_lag]
    return float(correlation.max() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    return decode_audio(JFK)


ENCODINGS = {  # file name: (codec, rate, layout, container format)
    "jfk_44k_stereo.wav": ("pcm_s16le", 44100, "stereo", None),
    "jfk_44k_stereo.flac": ("flac", 44100, "stereo", None),
    "jfk_22k.mp3": ("libmp3lame", 22050, "mono", None),
    "jfk.opus.ogg": ("libopus", 48000, "mono", None),
    "jfk.webm": ("libopus", 48000, "stereo", None),
    "jfk_44k_stereo.m4a": ("aac", 44100, "stereo", None),
    "jfk_float.wav": ("pcm_f32le", 16000, "mono", None),
    "jfk_s24.wav": ("pcm_s24le", 16000, "mono", None),
}


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("encoded")
    files = {name: encode(folder / name, codec, rate, layout, fmt=fmt)
             for name, (codec, rate, layout, fmt) in ENCODINGS.items()}
    files["jfk_with_video.mp4"] = encode(folder / "jfk_with_video.mp4", "aac", 22050, video=True)
    files["video_only.mp4"] = encode(folder / "video_only.mp4", None, video=True)
    return files


# --- decoding -------------------------------------------------------------------

def test_wav_reference_is_float32_mono_16k(reference: np.ndarray) -> None:
    assert SAMPLE_RATE == 16000
    assert reference.dtype == np.float32 and reference.ndim == 1 and reference.flags.c_contiguous
    assert reference.size == 176000
    assert 0.05 < np.abs(reference).max() <= 1.0


@pytest.mark.parametrize("name", [*ENCODINGS, "jfk_with_video.mp4"])
def test_every_container_decodes_to_the_same_speech(encoded: dict[str, Path], reference: np.ndarray,
                                                    name: str) -> None:
    samples = decode_audio(encoded[name])
    assert samples.dtype == np.float32 and samples.ndim == 1 and samples.flags.c_contiguous
    assert samples.size / SAMPLE_RATE == pytest.approx(JFK_SECONDS, rel=0.03)
    assert similarity(reference, samples) > 0.98


@pytest.mark.parametrize("name", ["jfk.wav", "jfk_float.wav", "jfk_s24.wav"])  # s16, flt, s32
def test_16k_mono_fast_path_is_bit_identical_to_libswresample(encoded: dict[str, Path], name: str) -> None:
    path = JFK if name == "jfk.wav" else encoded[name]
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks = [out.to_ndarray()[0] for frame in container.decode(audio=0)
                  for out in resampler.resample(frame)]
        chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    np.testing.assert_array_equal(decode_audio(path), np.concatenate(chunks))


def test_path_bytes_and_file_objects_agree(reference: np.ndarray) -> None:
    data = JFK.read_bytes()
    with JFK.open("rb") as file:
        from_file = decode_audio(file)
    for other in (decode_audio(str(JFK)), decode_audio(data), decode_audio(bytearray(data)),
                  decode_audio(memoryview(data)), decode_audio(io.BytesIO(data)), from_file):
        np.testing.assert_array_equal(other, reference)


def test_file_object_is_read_from_its_current_position(reference: np.ndarray) -> None:
    stream = io.BytesIO(b"junk" + JFK.read_bytes())
    stream.seek(4)
    np.testing.assert_array_equal(decode_audio(stream), reference)


def test_non_seekable_file_object(reference: np.ndarray) -> None:
    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._stream = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._stream.read(size)

    np.testing.assert_array_equal(decode_audio(Pipe(JFK.read_bytes())), reference)


def test_sample_format_and_rate_changes_mid_stream() -> None:
    tone = (0.3 * np.sin(np.arange(48000) * 0.05)).astype(np.float32)

    def mp3(rate: int, layout: str, seconds: int) -> bytes:
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="mp3") as out:
            stream = out.add_stream("libmp3lame", rate=rate, layout=layout)
            channels = 2 if layout == "stereo" else 1
            frame = av.AudioFrame.from_ndarray(np.tile(tone[: rate * seconds], (channels, 1)),
                                               format="fltp", layout=layout)
            frame.sample_rate = rate
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate,
                                          frame_size=stream.codec_context.frame_size)
            for converted in [*resampler.resample(frame), *resampler.resample(None)]:
                out.mux(stream.encode(converted))
            out.mux(stream.encode(None))
        return buffer.getvalue()

    samples = decode_audio(mp3(16000, "mono", 2) + mp3(44100, "stereo", 1))
    assert samples.size / SAMPLE_RATE == pytest.approx(3.0, abs=0.15)


def test_corrupt_packets_are_skipped_like_ffmpeg(encoded: dict[str, Path],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    data = bytearray(encoded["jfk_22k.mp3"].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 1500] = np.random.default_rng(0).bytes(1500)
    assert decode_audio(bytes(data)).size / SAMPLE_RATE == pytest.approx(JFK_SECONDS, rel=0.1)
    assert "corrupt packet" in caplog.text


def test_truncated_data_decodes_what_is_there() -> None:
    samples = decode_audio(wav_bytes(data=b"\x00\x10" * 1600, declared_data_size=10**6))
    assert samples.size == 1600


# --- numpy input ------------------------------------------------------------------

def test_float32_mono_array_is_returned_without_a_copy() -> None:
    samples = np.linspace(-1, 1, 16000, dtype=np.float32)
    assert decode_audio(samples) is samples


def test_int16_and_float64_arrays_are_scaled_to_float32() -> None:
    ints = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    np.testing.assert_array_equal(decode_audio(ints), np.array([0, 0.5, -1, 32767 / 32768], np.float32))
    doubles = np.array([0.25, -0.5], dtype=np.float64)
    out = decode_audio(doubles)
    assert out.dtype == np.float32 and out.tolist() == [0.25, -0.5]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_2d_arrays_are_downmixed_on_the_shorter_axis(layout: str) -> None:
    left = np.full(1000, 0.5, np.float32)
    right = np.zeros(1000, np.float32)
    stereo = np.stack([left, right]) if layout == "channels_first" else np.stack([left, right], axis=1)
    out = decode_audio(stereo)
    assert out.shape == (1000,) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.full(1000, 0.25, np.float32))


def test_strided_array_is_made_contiguous() -> None:
    out = decode_audio(np.arange(100, dtype=np.float32)[::2] / 100)
    assert out.flags.c_contiguous and out.size == 50


@pytest.mark.parametrize("array, message", [
    (np.array([0.0, np.nan], np.float32), "NaN or infinite"),
    (np.array([0.0, np.inf], np.float64), "NaN or infinite"),
    (np.array([1e300], np.float64), "NaN or infinite"),  # overflows float32
    (np.zeros(0, np.float32), "no audio samples"),
    (np.zeros((2, 0), np.float32), "no audio samples"),
    (np.zeros((2, 2, 2), np.float32), "1-D"),
    (np.zeros((100, 100), np.float32), "at most 64 channels"),
    (np.zeros(10, np.uint8), "dtype"),
    (np.zeros(10, np.complex64), "dtype"),
])
def test_bad_arrays_raise_invalid_audio(array: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidAudio, match=message) as info:
        decode_audio(array)
    assert info.value.param == "file"


# --- bad inputs ---------------------------------------------------------------------

def _video_only(encoded: dict[str, Path]) -> bytes:
    return encoded["video_only.mp4"].read_bytes()


BAD_INPUTS = {
    "empty": (lambda e: b"", "empty"),
    "wav truncated in its header": (lambda e: wav_bytes()[:30], "not a recognised"),
    "random bytes": (lambda e: np.random.default_rng(7).bytes(20000), "not a recognised"),
    # FFmpeg's tty demuxer claims .txt files as (ANSI art) video
    "text": (lambda e: b"Dear diary, today I uploaded the wrong file.\n" * 50, "not a recognised|no audio"),
    "video only": (_video_only, r"no audio stream \(found: 1 video\)"),
    "zero-length audio stream": (lambda e: wav_bytes(data=b""), "no audio samples"),
    "zero channels": (lambda e: wav_bytes(channels=0), "0 channels"),
    "300 channels": (lambda e: wav_bytes(channels=300, data=bytes(6000)), "channel count"),
    "sample rate 0": (lambda e: wav_bytes(rate=0), "not a recognised"),
    "sample rate 1 Hz": (lambda e: wav_bytes(rate=1), r"sample rate \(1 Hz\)"),
    "sample rate 2^31-1": (lambda e: wav_bytes(rate=2**31 - 1), "sample rate"),
    "zero bits per sample": (lambda e: wav_bytes(bits=0), "cannot be decoded"),
    "NaN float samples": (lambda e: wav_bytes(fmt_tag=3, bits=32, data=np.array(
        [0.0, np.nan] * 100, np.float32).tobytes()), "NaN or infinite"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_raise_invalid_audio(encoded: dict[str, Path], tmp_path: Path, case: str,
                                        capfd: pytest.CaptureFixture[str]) -> None:
    make, message = BAD_INPUTS[case]
    data = make(encoded)
    path = tmp_path / "upload.txt"  # a misleading extension must not matter either
    path.write_bytes(data)
    for source in (data, path, io.BytesIO(data)):
        with pytest.raises(InvalidAudio, match=message) as info:
            decode_audio(source)
        assert type(info.value) is InvalidAudio and info.value.param == "file"
        assert info.value.http_status == 400
    assert capfd.readouterr().err == ""  # libav logging is silenced


def test_missing_path_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudio, match="not found"):
        decode_audio(tmp_path / "nope.wav")
    with pytest.raises(InvalidAudio, match="directory"):
        decode_audio(tmp_path)


def test_unsupported_source_types_are_programming_errors() -> None:
    with pytest.raises(TypeError):
        decode_audio(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary"):
        decode_audio(io.StringIO("RIFF"))  # type: ignore[arg-type]


def test_nested_opens_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An uploaded concat script must not make the decoder read files on the server."""
    monkeypatch.chdir(JFK.parent)
    script = f"ffconcat version 1.0\nfile {JFK.name}\n".encode()
    (tmp_path / "list.ffconcat").write_bytes(script)
    for source in (script, tmp_path / "list.ffconcat"):
        with pytest.raises(InvalidAudio):
            decode_audio(source)


# --- limits --------------------------------------------------------------------------

def test_limits_defaults_and_validation() -> None:
    limits = AudioLimits()
    assert limits.max_decoded_samples == limits.max_duration_s * SAMPLE_RATE
    assert limits.max_input_bytes is None
    assert AudioLimits(max_duration_s=1.5).max_decoded_samples == 24000
    for bad in ({"max_duration_s": 0}, {"max_duration_s": float("nan")}, {"max_input_bytes": 0}):
        with pytest.raises(ValueError):
            AudioLimits(**bad)


def test_duration_limit_stops_a_long_decode_early(long_flac: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(AudioTooLong, match="maximum of 1 min") as info:
        decode_audio(long_flac, limits=AudioLimits(max_duration_s=60))
    assert time.perf_counter() - started < 1.0  # the full file takes several times longer
    assert isinstance(info.value, InvalidAudio) and info.value.code == "audio_too_long"


def test_a_tiny_file_cannot_expand_past_the_limit() -> None:
    # 64 KB of 1 kHz PCM is 32 s at 16 kHz: 16x expansion, caught while decoding.
    bomb = wav_bytes(rate=1000, data=bytes(64000))
    assert decode_audio(bomb).size == 32000 * 16
    with pytest.raises(AudioTooLong):
        decode_audio(bomb, limits=AudioLimits(max_duration_s=10))


def test_duration_limit_is_inclusive(reference: np.ndarray) -> None:
    exact = AudioLimits(max_duration_s=JFK_SECONDS)
    assert decode_audio(JFK, limits=exact).size == reference.size
    assert decode_audio(reference, limits=exact) is reference
    with pytest.raises(AudioTooLong):
        decode_audio(np.zeros(reference.size + 1, np.float32), limits=exact)
    with pytest.raises(AudioTooLong):
        decode_audio(JFK, limits=AudioLimits(max_duration_s=JFK_SECONDS - 0.001))


def test_input_size_limit() -> None:
    data = JFK.read_bytes()
    limits = AudioLimits(max_input_bytes=len(data) - 1)
    for source in (data, JFK, io.BytesIO(data)):
        with pytest.raises(FileTooLarge, match="limit") as info:
            decode_audio(source, limits=limits)
        assert info.value.http_status == 413
    assert decode_audio(data, limits=AudioLimits(max_input_bytes=len(data))).size == 176000
