"""Decompressing an input stream so that damage surfaces where it is, without Beam.

Beam's ``CompressedFile`` ends a truncated gzip stream silently (its last
decompressed bytes read as a complete file) and, like Python's ``GzipFile``, a
read that meets damage raises before returning the bytes it decompressed. This
reader returns every byte decompressed before the damage first and raises on
the next read: a truncated stream (no end-of-stream marker) raises ``EOFError``,
bytes after the last complete member that do not start a new one raise
``ValueError``. The line reader above it therefore yields every complete line
before the damage, and the file's ``unreadable_file`` row sits where reading
stopped.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import BinaryIO, Callable

_RAW_CHUNK = 64 * 1024  # compressed bytes per decompress call: bounds one call's output

try:  # zstandard ships with apache-beam; without it a .zst input fails when opened
    import zstandard
except ImportError:  # pragma: no cover - depends on the installation
    zstandard = None


def _zstd() -> object:
    if zstandard is None:
        raise ValueError("reading .zst input needs the zstandard package")
    return zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj()


# What the decompressors raise on damaged input.
_CODEC_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) + (
    (zstandard.ZstdError,) if zstandard is not None else ()
)


# One decompressor per member; what each codec calls its members is the same idea.
_DECOMPRESSORS: dict[str, Callable[[], object]] = {
    ".gz": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    ".gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    ".deflate": zlib.decompressobj,  # zlib-wrapped deflate, as Beam writes it
    ".bz2": bz2.BZ2Decompressor,
    ".xz": lzma.LZMADecompressor,
    ".lzma": lzma.LZMADecompressor,
    ".zst": _zstd,
    ".zstd": _zstd,
}


def compression_suffix(name: str) -> str:
    """The compression suffix ``name`` ends with (lower-case it first), or ``""``: one this module decompresses."""
    return next((suffix for suffix in _DECOMPRESSORS if name.endswith(suffix)), "")


class DecompressingReader(io.RawIOBase):
    """A read-only binary stream of the decompressed bytes of ``raw``.

    Concatenated members (``cat a.gz b.gz``) are read as one stream, as gzip
    does; zero bytes after a gzip member are padding. Closing it closes ``raw``.
    """

    def __init__(self, raw: BinaryIO, suffix: str):
        super().__init__()
        self._raw = raw
        self._new_decompressor = _DECOMPRESSORS[suffix]
        self._gzip = suffix in (".gz", ".gzip")
        self._decompressor = self._new_decompressor()
        self._member_started = False  # the current member has had input
        self._buffer = bytearray()
        self._error: Exception | None = None  # damage met (reading is done), raised once the bytes before it are read
        self._raw_position = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._fill()
        if not self._buffer and self._error is not None:
            error, self._error = self._error, None
            raise error
        if size < 0 or size >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        return data

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def _fill(self) -> None:
        chunk = self._raw.read(_RAW_CHUNK)
        if not chunk:
            self._done = True
            if self._member_started and not self._decompressor.eof:
                self._error = EOFError(
                    f"the compressed stream ends at byte {self._raw_position} before its end-of-stream "
                    "marker: the file is truncated"
                )
            return
        self._raw_position += len(chunk)
        self._decompress(chunk)

    def _decompress(self, data: bytes) -> None:
        while data:
            if self._decompressor.eof:  # a member ended: what follows must be another one
                if self._gzip:
                    data = data.lstrip(b"\0")
                    if not data:
                        return
                self._decompressor = self._new_decompressor()
                self._member_started = False
            at = self._raw_position - len(data)
            try:
                self._buffer += self._decompressor.decompress(data)
            except _CODEC_ERRORS as err:
                what = "after the end of the compressed stream" if at and not self._member_started else "in the stream"
                self._error = ValueError(f"damaged compressed data {what}, at or after byte {at}: {err}")
                self._done = True
                return
            self._member_started = True
            data = self._decompressor.unused_data if self._decompressor.eof else b""

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def decompressed(raw: BinaryIO, uri: str) -> BinaryIO:
    """``raw`` read through its decompressor when the file name says compressed, else ``raw``."""
    suffix = compression_suffix(uri.lower())
    return DecompressingReader(raw, suffix) if suffix else raw
